package debrepo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const packagesFixture = `Package: base-files
Version: 12.4
Architecture: amd64
Essential: yes
Priority: required
Pre-Depends: awk
Filename: pool/main/b/base-files/base-files_12.4_amd64.deb
Size: 10
SHA256: %[1]s

Package: mawk
Version: 1.3.4
Architecture: amd64
Priority: required
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3.4_amd64.deb
Size: 10
SHA256: %[1]s

Package: gawk
Version: 5.2
Architecture: amd64
Priority: optional
Provides: awk
Filename: pool/main/g/gawk/gawk_5.2_amd64.deb
Size: 10
SHA256: %[1]s

Package: mmdebstrap
Version: 1.3.5-7
Architecture: all
Depends: apt (>= 2.3.14), perl:any,
 python3 [amd64] | python3-minimal
Filename: pool/main/m/mmdebstrap/mmdebstrap_1.3.5-7_all.deb
Size: 10
SHA256: %[1]s

Package: apt
Version: 2.6.1
Architecture: amd64
Depends: libc6 (>= 2.34)
Filename: pool/main/a/apt/apt_2.6.1_amd64.deb
Size: 10
SHA256: %[1]s

Package: libc6
Version: 2.36
Architecture: amd64
Filename: pool/main/g/glibc/libc6_2.36_amd64.deb
Size: 10
SHA256: %[1]s

Package: perl
Version: 5.36
Architecture: amd64
Depends: libc6
Filename: pool/main/p/perl/perl_5.36_amd64.deb
Size: 10
SHA256: %[1]s

Package: python3-minimal
Version: 3.11
Architecture: amd64
Filename: pool/main/p/python3/python3-minimal_3.11_amd64.deb
Size: 10
SHA256: %[1]s
`

func fixtureIndex(t *testing.T) *Index {
	t.Helper()
	idx, err := ParseIndex("Packages", strings.NewReader(fmt.Sprintf(packagesFixture, strings.Repeat("ab", 32))))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func names(pkgs []*Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name)
	}
	return out
}

func TestResolve(t *testing.T) {
	idx := fixtureIndex(t)
	got, err := idx.Resolve([]string{"mmdebstrap"})
	if err != nil {
		t.Fatal(err)
	}
	// base-files is Essential; awk is virtual: gawk sorts first but mawk is required
	// priority, so mawk is chosen; python3 is absent, so its alternative python3-minimal.
	want := []string{"apt", "base-files", "libc6", "mawk", "mmdebstrap", "perl", "python3-minimal"}
	if !slices.Equal(names(got), want) {
		t.Fatalf("Resolve = %v, want %v", names(got), want)
	}
	if p, _ := idx.Lookup("mmdebstrap"); len(p.Depends) != 3 || !slices.Equal(p.Depends[2], []string{"python3", "python3-minimal"}) {
		t.Fatalf("mmdebstrap depends parsed as %v", p.Depends)
	}
}

func TestResolveErrors(t *testing.T) {
	idx := fixtureIndex(t)
	if _, err := idx.Resolve([]string{"no-such-package"}); err == nil || !strings.Contains(err.Error(), "no-such-package") {
		t.Fatalf("want an error naming the unknown package, got %v", err)
	}
	bad := "Package: a\nVersion: 1\nDepends: missing-lib\nFilename: a.deb\nSHA256: " + strings.Repeat("0", 64) + "\n"
	idx2, err := ParseIndex("Packages", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idx2.Resolve([]string{"a"}); err == nil || !strings.Contains(err.Error(), "a depends on missing-lib") {
		t.Fatalf("want an unsatisfiable dependency error, got %v", err)
	}
	if _, err := ParseIndex("Packages", strings.NewReader("Package: x\nVersion: 1\n")); err == nil || !strings.Contains(err.Error(), "Packages:1") {
		t.Fatalf("want a positioned error for a stanza without Filename, got %v", err)
	}
}
