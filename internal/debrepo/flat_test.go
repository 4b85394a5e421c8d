package debrepo_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/testenv"
)

func TestFlatStanza(t *testing.T) {
	ctl := []byte("Package: a\nVersion: 1\nPriority: optional\nSize: 9\nDescription: x\n long text\n .\nArchitecture: all\n")
	got := string(debrepo.FlatStanza(debrepo.FlatDeb{Control: ctl, Filename: "pool/main/a/a/a_1_all.deb", SHA256: "ab", Size: 42, Priority: "required"}))
	want := "Package: a\nVersion: 1\nDescription: x\n long text\n .\nArchitecture: all\nPriority: required\nFilename: pool/main/a/a/a_1_all.deb\nSize: 42\nSHA256: ab\n\n"
	if got != want {
		t.Fatalf("stanza:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteFlatRefusesEscapingFilenames(t *testing.T) {
	dir := t.TempDir()
	deb := filepath.Join(t.TempDir(), "x.deb")
	if err := os.WriteFile(deb, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"../x.deb", "/etc/x.deb", "pool/../../x.deb", "pool/x.tar", "pool//x.deb"} {
		err := debrepo.WriteFlat(dir, []debrepo.FlatDeb{{Path: deb, Filename: fn}}, "bookworm", date)
		if err == nil || !strings.Contains(err.Error(), "is not a relative pool path") {
			t.Errorf("Filename %q: %v", fn, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused repository was written: %v", entries)
	}
}

// TestWriteFlatAptReadsIt runs the host's apt over a flat repository of the fixture's
// packages: apt must accept the repository as the only source, see each package at
// the archive's priority and nothing else.
func TestWriteFlatAptReadsIt(t *testing.T) {
	aptGet := testenv.RequireTool(t, "apt-get")
	a, pkgs := fixture(t)
	m := debrepo.Mirror{URL: a.URL, Keyring: a.Keyring, CacheDir: t.TempDir()}
	s, err := m.Suite(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	var debs []debrepo.FlatDeb
	for _, n := range []string{"adduser", "base-files"} {
		p, _ := s.Index.Lookup(n)
		path, err := m.Fetch(context.Background(), a.URL+"/"+p.Filename, p.SHA256, p.Size)
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ctl, err := debrepo.Control(fh, n)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		debs = append(debs, debrepo.FlatDeb{Path: path, Control: ctl, Filename: p.Filename, SHA256: p.SHA256, Size: p.Size, Priority: p.Priority})
	}
	if err := debrepo.WriteFlat(repo, debs, "bookworm", date); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, pkgs[0].Filename())); err != nil {
		t.Fatalf("the .deb is not at its pool path: %v", err)
	}

	root := t.TempDir()
	for _, d := range []string{"etc/apt/sources.list.d", "etc/apt/preferences.d", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	list := "deb [trusted=yes] copy://" + repo + " ./\n"
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	apt := func(args ...string) (string, error) {
		t.Helper()
		opts := []string{"-o", "Dir=" + root, "-o", "Dir::State::status=" + filepath.Join(root, "var/lib/dpkg/status"),
			"-o", "APT::Architecture=amd64", "-o", "Debug::NoLocking=true", "-o", "Dir::Etc::TrustedParts=/nonexistent",
			"-o", "APT::Sandbox::User=root"}
		cmd := exec.Command(aptGet, append(opts, args...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustApt := func(args ...string) string {
		t.Helper()
		out, err := apt(args...)
		if err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustApt("update")
	// mmdebstrap's minbase selects ?priority(required): base-files by the archive's
	// override, though its control file says optional.
	sim := mustApt("install", "--simulate", "?priority(required)")
	if !strings.Contains(sim, "Inst base-files (12.4+deb12u12 ") || strings.Contains(sim, "Inst adduser") {
		t.Fatalf("apt's ?priority(required) over the flat repository:\n%s", sim)
	}
	sim = mustApt("install", "--simulate", "adduser")
	if !strings.Contains(sim, "Inst adduser (3.134 ") {
		t.Fatalf("apt cannot install adduser from the flat repository:\n%s", sim)
	}
	// The mirror's other packages are not in the repository: nothing outside the set
	// can be installed.
	if out, err := apt("install", "--simulate", "unrelated"); err == nil || !strings.Contains(out, "Unable to locate package unrelated") {
		t.Fatalf("apt found a package outside the flat repository: %v\n%s", err, out)
	}
}
