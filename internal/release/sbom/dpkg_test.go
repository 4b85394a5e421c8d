package sbom

import (
	"bufio"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/testenv"
)

func TestParseStatus(t *testing.T) {
	pkgs, err := ParseStatus(strings.NewReader(strings.ReplaceAll(disttest.Status, "ARCH", "amd64")), "status")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != disttest.InstalledPackages {
		t.Fatalf("%d packages, want %d (removed and half-installed ones excluded)", len(pkgs), disttest.InstalledPackages)
	}
	got := map[string]DebPackage{}
	for _, p := range pkgs {
		got[p.Name] = p
	}
	for _, gone := range []string{"vim-tiny", "nano"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s is not installed but was listed", gone)
		}
	}
	cases := []struct {
		name, purl, srcName, srcVersion string
		line                            int
	}{
		{"base-files", "pkg:deb/debian/base-files@12.4+deb12u10?arch=amd64", "base-files", "12.4+deb12u10", 1},
		{"libc6", "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64", "glibc", "2.36-9+deb12u10", 23},
		{"libstdc++6", "pkg:deb/debian/libstdc++6@12.2.0-14+deb12u1?arch=amd64", "gcc-12", "12.2.0-14+deb12u1", 39},
		{"ca-certificates", "pkg:deb/debian/ca-certificates@20230311+deb12u1?arch=all", "ca-certificates", "20230311+deb12u1", 56},
		{"libcap2", "pkg:deb/debian/libcap2@1:2.66-4+deb12u1?arch=amd64", "libcap2", "1:2.66-4+deb12u1", 70},
	}
	for _, c := range cases {
		p, ok := got[c.name]
		if !ok {
			t.Errorf("%s missing", c.name)
			continue
		}
		if p.PURL() != c.purl || p.SourceName() != c.srcName || p.SourceVersion() != c.srcVersion || p.Line != c.line {
			t.Errorf("%s: purl %s source %s %s line %d, want %s %s %s %d",
				c.name, p.PURL(), p.SourceName(), p.SourceVersion(), p.Line, c.purl, c.srcName, c.srcVersion, c.line)
		}
	}
	if h := got["base-files"].Homepage; h != "https://tracker.debian.org/pkg/base-files" {
		t.Errorf("Homepage after a multi-line Description = %q", h)
	}
	if !sort.SliceIsSorted(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name }) {
		t.Error("packages are not sorted by name")
	}
}

func TestParseStatusErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no package", "Status: install ok installed\nVersion: 1\n", "st:1: stanza has no Package field"},
		{"dup field", "Package: a\nVersion: 1\nVersion: 2\n", "st:3: field Version repeated in the stanza starting at line 1"},
		{"bad line", "Package: a\nnot a field\n", "st:2: not a \"Field: value\" line"},
		{"continuation first", " orphan\n", "st:1: continuation line outside a field"},
		{"bad status", "Package: a\nStatus: installed\nVersion: 1\nArchitecture: all\n", "st:1: package a: Status \"installed\""},
		{"no version", "Package: a\nStatus: install ok installed\nArchitecture: all\n", "st:1: installed package a has no Version"},
		{"twice", "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\nPackage: a\nStatus: install ok installed\nVersion: 2\nArchitecture: all\n",
			"st:6: package a:all is installed twice (first at line 1)"},
		{"nothing installed", "Package: a\nStatus: deinstall ok config-files\n", "st: no installed packages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseStatus(strings.NewReader(c.in), "st")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestParseStatusMatchesDpkg reads this machine's real status file and
// compares with what dpkg-query itself reports as installed.
func TestParseStatusMatchesDpkg(t *testing.T) {
	tool := testenv.RequireTool(t, "dpkg-query")
	f, err := os.Open("/var/lib/dpkg/status")
	if err != nil {
		testenv.Unavailable(t, "no dpkg status file: %v", err)
	}
	defer f.Close()
	pkgs, err := ParseStatus(f, "/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-W", "-f", "${db:Status-Status} ${Package} ${Architecture} ${Version}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "installed "); ok {
			want = append(want, rest)
		}
	}
	var have []string
	for _, p := range pkgs {
		have = append(have, p.Name+" "+p.Architecture+" "+p.Version)
	}
	sort.Strings(want)
	sort.Strings(have)
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Fatalf("parsed %d installed packages, dpkg-query says %d; first difference in:\n%v\nvs\n%v", len(have), len(want), have, want)
	}
	t.Logf("%d installed packages agree with dpkg-query", len(have))
}
