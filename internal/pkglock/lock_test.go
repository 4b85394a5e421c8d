package pkglock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/debrepo/debrepotest"
)

var (
	sumA = strings.Repeat("a", 64)
	sumB = strings.Repeat("b", 64)
	day  = time.Date(2026, 11, 8, 9, 12, 45, 0, time.UTC)
)

const golden = "# Package lock of images/default.yaml, written by `release lock`: do not edit by hand.\n" +
	"# Refresh (monthly, docs/runbook.md): release lock --update --image default, review the diff, commit.\n" +
	"lock 1\nkind image\nname default\nsuite bookworm\nmirror http://deb.debian.org/debian\nvariant minbase\ninclude iptables kmod\n" +
	"\narch amd64\ndate 2026-11-08T09:12:45Z\n" +
	"pkg adduser 3.134 all important 1252 " + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + " pool/main/a/adduser/adduser_3.134_all.deb\n" +
	"pkg libc6 2.36-9+deb12u13 amd64 required 2757936 " + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + " pool/main/g/glibc/libc6_2.36-9+deb12u13_amd64.deb\n" +
	"\narch arm64\ndate 2026-11-08T09:12:45Z\n" +
	"pkg libc6 2.36-9+deb12u13 arm64 required 2300000 " + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + " pool/main/g/glibc/libc6_2.36-9+deb12u13_arm64.deb\n"

func sample() *Lock {
	l := &Lock{Path: "images/default.lock", Kind: KindImage, Name: "default", Suite: "bookworm",
		Mirror: "http://deb.debian.org/debian", Variant: "minbase", Include: []string{"iptables", "kmod"}}
	l.Put(&Section{Arch: "arm64", Date: day, Packages: []Entry{
		{Name: "libc6", Version: "2.36-9+deb12u13", Arch: "arm64", Priority: "required", Size: 2300000, SHA256: sumB, Filename: "pool/main/g/glibc/libc6_2.36-9+deb12u13_arm64.deb"}}})
	l.Put(&Section{Arch: "amd64", Date: day, Packages: []Entry{
		{Name: "libc6", Version: "2.36-9+deb12u13", Arch: "amd64", Priority: "required", Size: 2757936, SHA256: sumB, Filename: "pool/main/g/glibc/libc6_2.36-9+deb12u13_amd64.deb"},
		{Name: "adduser", Version: "3.134", Arch: "all", Priority: "important", Size: 1252, SHA256: sumA, Filename: "pool/main/a/adduser/adduser_3.134_all.deb"}}})
	return l
}

func TestFormatParseRoundTrip(t *testing.T) {
	l := sample()
	got := string(Format(l))
	if got != golden {
		t.Fatalf("Format:\n%s\nwant:\n%s", got, golden)
	}
	back, err := Parse("images/default.lock", []byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if again := string(Format(back)); again != golden {
		t.Fatalf("Format(Parse(Format(l))) differs:\n%s", again)
	}
	s, ok := back.Section("amd64")
	if !ok || len(s.Packages) != 2 || s.Packages[1].Line != 14 || s.Line != 11 {
		t.Fatalf("amd64 section = %+v", s)
	}
	if e, ok := s.Lookup("libc6"); !ok || e.Size != 2757936 || e.String() != "libc6 2.36-9+deb12u13 (amd64)" {
		t.Fatalf("Lookup(libc6) = %+v", e)
	}
	if _, ok := s.Lookup("libc"); ok {
		t.Fatal("Lookup found a package the lock does not have")
	}
}

func TestParseRefusesWithFileAndLine(t *testing.T) {
	head := "lock 1\nkind image\nname default\nsuite bookworm\nmirror http://deb.debian.org/debian\nvariant minbase\ninclude kmod\n"
	pkg := "pkg kmod 30+20221128-1 amd64 important 96596 " + sumA + " pool/main/k/kmod/kmod_30+20221128-1_amd64.deb\n"
	sec := "arch amd64\ndate 2026-11-08T09:12:45Z\n"
	cases := []struct{ name, in, want string }{
		{"empty", "", "x.lock: empty"},
		{"not a lock", "kind image\n", "x.lock:1: a package lock starts with \"lock 1\""},
		{"future format", "lock 2\n", "x.lock:1: lock format \"2\""},
		{"unknown kind", "lock 1\nkind vm\n", "x.lock:2: kind \"vm\""},
		{"bad mirror", "lock 1\nmirror ftp://x\n", "x.lock:2: mirror \"ftp://x\""},
		{"bad variant", "lock 1\nvariant tiny\n", "x.lock:2: variant \"tiny\""},
		{"unsorted include", "lock 1\ninclude kmod iptables\n", "x.lock:2: include is not sorted"},
		{"header twice", "lock 1\nname a\nname b\n", "x.lock:3: name appears twice (first on line 2)"},
		{"header after arch", head + sec + "suite trixie\n", "x.lock:10: suite belongs to the header"},
		{"unknown line", head + "frob 1\n", "x.lock:8: unknown line \"frob\""},
		{"pkg before arch", head + pkg, "x.lock:8: pkg before any arch line"},
		{"no date", head + "arch amd64\n" + pkg, "x.lock: arch amd64 (line 8) has no date line"},
		{"local date", head + "arch amd64\ndate 2026-11-08T09:12:45+01:00\n", "x.lock:9: date \"2026-11-08T09:12:45+01:00\""},
		{"arch all", head + "arch all\n", "x.lock:8: arch \"all\""},
		{"empty section", head + sec + "arch arm64\n", "x.lock:10: arch amd64 (line 8) locks no package"},
		{"unsorted arches", head + "arch arm64\ndate 2026-11-08T09:12:45Z\n" + strings.Replace(pkg, "amd64", "arm64", 2) + sec, "x.lock:11: arch amd64 after arm64"},
		{"six fields", head + sec + "pkg kmod 1 amd64 important 9 " + sumA + "\n", "x.lock:10: pkg has 6 fields, want 7"},
		{"two spaces", head + sec + strings.Replace(pkg, " amd64 ", "  amd64 ", 1), "x.lock:10: pkg has 8 fields"},
		{"bad version", head + sec + strings.Replace(pkg, "30+20221128-1 ", "v30 ", 1), "x.lock:10: package kmod: \"v30\" is not a Debian version"},
		{"foreign arch", head + sec + strings.Replace(pkg, " amd64 important", " arm64 important", 1), "x.lock:10: package kmod is arm64 in the section of arch amd64"},
		{"bad priority", head + sec + strings.Replace(pkg, "important", "urgent", 1), "x.lock:10: package kmod: priority \"urgent\""},
		{"zero size", head + sec + strings.Replace(pkg, " 96596 ", " 0 ", 1), "x.lock:10: package kmod: size \"0\""},
		{"padded size", head + sec + strings.Replace(pkg, " 96596 ", " 096596 ", 1), "x.lock:10: package kmod: size \"096596\""},
		{"upper hex", head + sec + strings.Replace(pkg, sumA, strings.ToUpper(sumA), 1), "x.lock:10: package kmod: sha256"},
		{"escaping path", head + sec + strings.Replace(pkg, "pool/main/k/kmod/", "pool/../../etc/", 1), "x.lock:10: package kmod: \"pool/../../etc/kmod_30+20221128-1_amd64.deb\" is not a pool path"},
		{"absolute path", head + sec + strings.Replace(pkg, "pool/main", "/pool/main", 1), "is not a pool path"},
		{"duplicate", head + sec + pkg + pkg, "x.lock:11: package kmod (amd64) appears twice in arch amd64 (first on line 10)"},
		{"unsorted", head + sec + pkg + strings.Replace(pkg, "kmod ", "apt ", 1), "x.lock:11: package apt after kmod"},
		{"no variant", strings.Replace(head, "variant minbase\n", "", 1) + sec + pkg, "x.lock: no variant line"},
		{"no sections", head, "x.lock: no arch section"},
		{"long line", head + strings.Repeat("x", 70000) + "\n", "x.lock:8: bufio.Scanner: token too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.lock", []byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, c.want)
			}
		})
	}
	if _, err := Parse("x.lock", []byte(head+sec+pkg)); err != nil {
		t.Fatalf("the valid base of the cases: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	l := sample()
	l.Path = filepath.Join(dir, "default.lock")
	if err := WriteFile(l); err != nil {
		t.Fatal(err)
	}
	back, err := Load(l.Path)
	if err != nil || string(Format(back)) != golden {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.lock")); !errors.Is(err, ErrNoLock) {
		t.Fatalf("want ErrNoLock for a missing lock, got %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("want a refusal of a directory, got %v", err)
	}
}

func TestDigest(t *testing.T) {
	l := sample()
	amd, _ := l.Section("amd64")
	arm, _ := l.Section("arm64")
	d := l.Digest(amd)
	if len(d) != 64 || d == l.Digest(arm) {
		t.Fatalf("digests: amd64 %s arm64 %s", d, l.Digest(arm))
	}
	// A refresh that moves no package moves no key.
	amd.Date = day.Add(30 * 24 * time.Hour)
	if l.Digest(amd) != d {
		t.Fatal("the date changed the digest")
	}
	amd.Packages[0].SHA256 = sumB
	if l.Digest(amd) == d {
		t.Fatal("another .deb did not change the digest")
	}
	amd.Packages[0].SHA256 = sumA
	l.Include = []string{"iptables"}
	if l.Digest(amd) == d {
		t.Fatal("another include did not change the digest")
	}
}

func TestCheck(t *testing.T) {
	l := sample()
	in := Inputs{Kind: KindImage, Name: "default", Suite: "bookworm", Mirror: "http://deb.debian.org/debian", Variant: "minbase",
		Include: []string{"kmod", "iptables", "kmod"}, Arches: []string{"amd64", "arm64"}, Definition: "images/default.yaml"}
	if err := l.Check(in); err != nil {
		t.Fatal(err)
	}
	in.Include = []string{"kmod", "ca-certificates"}
	in.Arches = append(in.Arches, "s390x")
	in.Suite = "trixie"
	err := l.Check(in)
	want := `images/default.lock is stale for images/default.yaml: suite is "bookworm" in the lock, "trixie" in images/default.yaml; ` +
		"the packages asked for changed: added ca-certificates removed iptables; no section for arch s390x; " +
		"run `release lock --update --image default` (then review and commit the lock)"
	var se *StaleError
	if !errors.As(err, &se) || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestVerifyDeb(t *testing.T) {
	p := debrepotest.Pkg{Name: "kmod", Version: "30+20221128-1", Arch: "amd64"}
	deb := debrepotest.Deb(t, p.Control(), nil)
	path := filepath.Join(t.TempDir(), "kmod.deb")
	if err := os.WriteFile(path, deb, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, size := sha(deb)
	l := sample()
	e := Entry{Name: "kmod", Version: "30+20221128-1", Arch: "amd64", Priority: "important", Size: size, SHA256: sum, Filename: p.Filename(), Line: 14}
	ctl, err := l.VerifyDeb(e, path)
	if err != nil || string(ctl) != p.Control() {
		t.Fatalf("VerifyDeb = %q, %v", ctl, err)
	}
	wrong := e
	wrong.SHA256 = sumA
	_, err = l.VerifyDeb(wrong, path)
	want := "images/default.lock:14: package kmod 30+20221128-1 (amd64): the .deb is " + itoa(size) + " bytes with sha256 " + sum +
		", the lock says " + itoa(size) + " bytes with sha256 " + sumA + "; if the mirror moved on, run `release lock --update --image default`, review the diff and commit"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	// The right bytes under another package's name are refused too.
	other := e
	other.Version = "31-1"
	if _, err := l.VerifyDeb(other, path); err == nil || !strings.Contains(err.Error(), `its control file says Version "30+20221128-1"`) {
		t.Fatalf("want a control mismatch, got %v", err)
	}
}

func TestCheckInstalled(t *testing.T) {
	l := sample()
	s, _ := l.Section("amd64")
	ok := []Installed{{"libc6", "2.36-9+deb12u13", "amd64"}, {"adduser", "3.134", "all"}}
	if err := l.CheckInstalled(s, ok, "image default for amd64"); err != nil {
		t.Fatal(err)
	}
	bad := []Installed{{"libc6", "2.36-9+deb12u12", "amd64"}, {"gawk", "5.2", "amd64"}}
	err := l.CheckInstalled(s, bad, "image default for amd64")
	want := "image default for amd64 does not hold what images/default.lock locks for amd64: adduser 3.134 (all) is locked (line 0) but not installed; " +
		"libc6 is installed at 2.36-9+deb12u12, locked at 2.36-9+deb12u13 (line 0); gawk 5.2 (amd64) is installed but not locked; " +
		"run `release lock --update --image default`, review the diff and commit"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestDiffAndAge(t *testing.T) {
	old := sample()
	new := sample()
	amd, _ := new.Section("amd64")
	amd.Packages[1].Version, amd.Packages[1].SHA256 = "2.36-9+deb12u14", sumA // libc6
	amd.Packages = append(amd.Packages, Entry{Name: "zlib1g", Version: "1:1.2.13", Arch: "amd64", Priority: "required", Size: 1, SHA256: sumA, Filename: "pool/main/z/zlib/z.deb"})
	amd.Packages = amd.Packages[1:] // adduser dropped
	arm, _ := new.Section("arm64")
	arm.Packages[0].SHA256 = sumA // rebuilt
	new.Put(&Section{Arch: "s390x", Date: day, Packages: []Entry{{Name: "libc6", Version: "2.36", Arch: "s390x", Priority: "required", Size: 1, SHA256: sumA, Filename: "pool/main/g/glibc/l.deb"}}})
	var got []string
	for _, c := range Diff(old, new) {
		got = append(got, c.String())
	}
	want := []string{"amd64: - adduser 3.134", "amd64: ~ libc6 2.36-9+deb12u13 -> 2.36-9+deb12u14", "amd64: + zlib1g 1:1.2.13",
		"arm64: ~ libc6 2.36-9+deb12u13 (same version, other .deb)", "s390x: + libc6 2.36"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Diff:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := Summary(Diff(old, new)); s != "2 changed, 2 added, 1 removed" {
		t.Fatalf("Summary = %s", s)
	}
	if len(Diff(old, sample())) != 0 {
		t.Fatal("equal locks differ")
	}
	if n := len(Diff(nil, old)); n != 3 {
		t.Fatalf("Diff(nil, lock) = %d changes, want every package added", n)
	}
	arm.Date = day.Add(-40 * 24 * time.Hour)
	if got := new.Age(day.Add(12 * time.Hour)); got != 40 {
		t.Fatalf("Age = %d days, want 40 (the oldest section)", got)
	}
	if got := new.Age(day.Add(-100 * 24 * time.Hour)); got != 0 {
		t.Fatalf("Age before the lock = %d", got)
	}
}

func TestFromInstalledAndPreview(t *testing.T) {
	a := debrepotest.NewArchive(t, "bookworm")
	libc := debrepotest.Pkg{Name: "libc6", Version: "2.36-9", Arch: "amd64", Priority: "required"}
	kmod := debrepotest.Pkg{Name: "kmod", Version: "30-1", Arch: "amd64", Priority: "important", Depends: "libc6 (>= 2.34)"}
	tool := debrepotest.Pkg{Name: "tool", Version: "1", Arch: "all"}
	a.Publish(day, []string{"amd64"}, libc, kmod, tool)
	m := debrepo.Mirror{URL: a.URL, Keyring: a.Keyring, CacheDir: t.TempDir()}
	ctx := context.Background()
	suite, err := m.Suite(ctx, "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromInstalled(suite, []Installed{{"libc6", "2.36-9", "amd64"}, {"kmod", "30-1", "amd64"}, {"tool", "1", "all"}})
	if err != nil {
		t.Fatal(err)
	}
	sum, size := sha(a.Deb(kmod))
	if e, _ := s.Lookup("kmod"); e.SHA256 != sum || e.Size != size || e.Filename != kmod.Filename() || e.Priority != "important" || !s.Date.Equal(day) {
		t.Fatalf("kmod = %+v", e)
	}
	if _, err := FromInstalled(suite, []Installed{{"kmod", "29-1", "amd64"}}); err == nil || !strings.Contains(err.Error(), "kmod is installed at 29-1 (amd64)") {
		t.Fatalf("want a version mismatch against the index, got %v", err)
	}
	if _, err := FromInstalled(suite, []Installed{{"gawk", "5", "amd64"}}); err == nil || !strings.Contains(err.Error(), "gawk 5 is installed but not in") {
		t.Fatalf("want an unknown-package error, got %v", err)
	}
	l := &Lock{Path: "images/x.lock", Kind: KindImage, Name: "x", Suite: "bookworm", Mirror: a.URL, Variant: "minbase", Include: []string{"kmod"}}
	l.Put(s)

	// Unchanged mirror: nothing to update.
	pv, err := l.Preview(ctx, m)
	if err != nil || len(pv) != 1 || !pv[0].UpToDate() {
		t.Fatalf("Preview of a current lock = %+v, %v", pv, err)
	}
	// A month later kmod moved and needs a new library; tool is gone; a snapshot of
	// that mirror tells so.
	kmod2 := kmod
	kmod2.Version, kmod2.Depends = "31-1", "libc6 (>= 2.34), liblzma5 | xz-libs"
	later := day.Add(30 * 24 * time.Hour)
	a.Publish(later, []string{"amd64"}, libc, kmod2, debrepotest.Pkg{Name: "liblzma5", Version: "5.4", Arch: "amd64"})
	dir := t.TempDir()
	a.Snapshot(dir)
	pv, err = l.Preview(ctx, debrepo.Snapshot{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range pv[0].Changes {
		got = append(got, c.String())
	}
	if strings.Join(got, "; ") != "amd64: ~ kmod 30-1 -> 31-1; amd64: - tool 1" || strings.Join(pv[0].NewDeps, ";") != "liblzma5 (for kmod 31-1)" ||
		!pv[0].Current.Equal(later) || !pv[0].Locked.Equal(day) {
		t.Fatalf("Preview = %+v", pv[0])
	}
	if _, err := l.Preview(ctx, debrepo.Snapshot{Dir: t.TempDir()}); err == nil || !strings.HasPrefix(err.Error(), "images/x.lock: arch amd64: ") {
		t.Fatalf("want an error naming the lock and arch, got %v", err)
	}
}
