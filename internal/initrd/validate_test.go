package initrd

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boot"
)

var (
	probeOnce    sync.Map // GOARCH -> *probeBuild
	probeDirOnce sync.Once
	probeDir     string
	probeDirErr  error
)

type probeBuild struct {
	once sync.Once
	path string
	err  error
}

// TestMain removes the probes' directory, made on first use only: go test -fuzz
// runs this binary as worker processes that it kills when the fuzz time is up,
// so a directory made here eagerly would be left behind by every worker.
func TestMain(m *testing.M) {
	code := m.Run()
	if probeDir != "" {
		os.RemoveAll(probeDir)
	}
	os.Exit(code)
}

// probeFor cross-builds cmd/bootprobe for a once per test binary: a real
// static ELF of that architecture.
func probeFor(t *testing.T, a arch.Arch) string {
	t.Helper()
	v, _ := probeOnce.LoadOrStore(a.GOARCH, &probeBuild{})
	b := v.(*probeBuild)
	probeDirOnce.Do(func() { probeDir, probeDirErr = os.MkdirTemp("", "initrd-probe-") })
	if probeDirErr != nil {
		t.Fatal(probeDirErr)
	}
	b.once.Do(func() {
		b.path = filepath.Join(probeDir, "bootprobe-"+a.GOARCH)
		b.err = boot.BuildProbe(context.Background(), a, b.path, "")
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

var x86 = arch.MustParse("x86_64")

func validationProblems(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	return ve.Problems
}

// TestForeignELFRefused: an aarch64 binary in a tree packed for x86_64 is one
// clear error naming the file and both architectures.
func TestForeignELFRefused(t *testing.T) {
	arm := arch.MustParse("aarch64")
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	data, err := os.ReadFile(probeFor(t, arm))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "usr/bin/helper"), data, 0o755))

	_, err = Build(Spec{Root: root, Init: InitAgent, Agent: probeFor(t, x86), Arch: x86, Compression: None}, filepath.Join(t.TempDir(), "out.img"))
	problems := validationProblems(t, err)
	want := "1 ELF file(s) are not built for x86_64: usr/bin/helper is aarch64; build them for x86_64 (GOARCH=amd64, x86_64-linux-gnu-gcc) or remove them"
	if len(problems) != 1 || problems[0] != want {
		t.Fatalf("problems = %q\nwant [%q]", problems, want)
	}

	// The same tree packed for aarch64 with an aarch64 agent is fine...
	out := filepath.Join(t.TempDir(), "arm.img")
	if _, err := Build(Spec{Root: root, Init: InitAgent, Agent: probeFor(t, arm), Arch: arm, Compression: None}, out); err != nil {
		t.Fatalf("aarch64 tree for aarch64: %v", err)
	}
	// ...and an aarch64 agent for x86_64 is refused as the init itself.
	_, err = Build(Spec{Root: t.TempDir(), Init: InitAgent, Agent: probeFor(t, arm), Arch: x86, Compression: None}, out)
	problems = validationProblems(t, err)
	if len(problems) != 1 || !strings.Contains(problems[0], "usr/bin/kata-agent is aarch64") {
		t.Fatalf("problems = %q", problems)
	}
}

// TestMissingAgent: agent mode with neither --agent nor /init, and an
// --agent path that does not exist, each give one error saying what to pass.
func TestMissingAgent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.img")
	_, err := Build(Spec{Root: t.TempDir(), Init: InitAgent, Arch: x86, Compression: Gzip}, out)
	problems := validationProblems(t, err)
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "/init is missing") || !strings.Contains(problems[0], "pass --agent FILE") {
		t.Fatalf("problems = %q", problems)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Fatalf("a failed build left %s behind", out)
	}

	_, err = Build(Spec{Root: t.TempDir(), Init: InitAgent, Agent: "/nonexistent/agent", Arch: x86, Compression: Gzip}, out)
	if err == nil || err.Error() != "agent binary: stat /nonexistent/agent: no such file or directory (pass the built agent with --agent FILE)" {
		t.Fatalf("err = %v", err)
	}

	// systemd mode needs the agent too (as the unit's binary).
	tree := systemdTree(t)
	must(t, ApplyInit(tree, InitSystemd, nil))
	problems = validationProblems(t, Validate(tree, x86, InitSystemd, Limits{}))
	if len(problems) != 1 || !strings.Contains(problems[0], "/usr/bin/kata-agent is missing") {
		t.Fatalf("problems = %q", problems)
	}

	// A non-executable /init is named as such.
	tree = NewTree()
	must(t, tree.AddFile("init", 0o644, []byte("#!/bin/sh\n")))
	problems = validationProblems(t, Validate(tree, x86, InitAgent, Limits{}))
	if len(problems) != 1 || problems[0] != "/init (/init) is not executable (mode 0644); chmod +x it" {
		t.Fatalf("problems = %q", problems)
	}
}

// TestSymlinkRule: a relative symlink that climbs out of the root is refused;
// absolute ones are kept, or rewritten when they name the host root.
func TestSymlinkRule(t *testing.T) {
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	must(t, os.Symlink("../../../etc/shadow", filepath.Join(root, "usr/lib/evil")))
	_, err := Build(Spec{Root: root, Init: InitAgent, Agent: probeFor(t, x86), Arch: x86, Compression: Gzip}, filepath.Join(t.TempDir(), "o"))
	problems := validationProblems(t, err)
	want := "1 symlink(s) point outside the initrd root: usr/lib/evil -> ../../../etc/shadow; make the target relative to the tree or absolute (as the guest sees it)"
	if len(problems) != 1 || problems[0] != want {
		t.Fatalf("problems = %q\nwant [%q]", problems, want)
	}

	ok := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(ok, "usr/lib"), 0o755))
	must(t, os.Symlink("../../etc/shadow", filepath.Join(ok, "usr/lib/fine")))     // stays inside
	must(t, os.Symlink("/proc/self/fd", filepath.Join(ok, "usr/lib/abs")))         // guest path
	must(t, os.Symlink(ok+"/usr/lib/fine", filepath.Join(ok, "usr/lib/hostpath"))) // host path of the root
	tree, err := FromDir(ok)
	must(t, err)
	if err := Validate(tree, x86, InitNone, Limits{}); err != nil {
		t.Fatal(err)
	}
	for p, target := range map[string]string{"usr/lib/fine": "../../etc/shadow", "usr/lib/abs": "/proc/self/fd", "usr/lib/hostpath": "/usr/lib/fine"} {
		e, found := tree.Lookup(p)
		if !found || e.Linkname != target {
			t.Errorf("%s -> %+v, want %s", p, e, target)
		}
	}
	if len(tree.Rewrites) != 1 || tree.Rewrites[0] != "usr/lib/hostpath: "+ok+"/usr/lib/fine -> /usr/lib/fine" {
		t.Errorf("rewrites = %q", tree.Rewrites)
	}

	for _, c := range []struct {
		link, target string
		escapes      bool
	}{
		{"a", "..", true},
		{"a", ".", false},
		{"a/b", "..", false},
		{"a/b", "../..", true},
		{"a/b/c", "../x/../../y", false},
		{"a/b/c", "x/../../../../y", true},
		{"a", "/../../etc", false},
	} {
		if got := escapesRoot(c.link, c.target); got != c.escapes {
			t.Errorf("escapesRoot(%s -> %s) = %v, want %v", c.link, c.target, got, c.escapes)
		}
	}
}

// TestTarNames: tar members are normalised, and ".." members refused.
func TestTarNames(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"./", "./etc/", "/etc/passwd", "etc/../../escape"} {
		h := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		must(t, tw.WriteHeader(h))
	}
	must(t, tw.Close())
	_, err := FromTar(bytes.NewReader(buf.Bytes()), Limits{})
	if err == nil || err.Error() != `tar member #4: path "etc/../../escape" leaves the initrd root (it has a .. component): remove or rename the entry` {
		t.Fatalf("err = %v", err)
	}
}

func TestLimits(t *testing.T) {
	tree := NewTree()
	must(t, tree.AddFile("init", 0o755, bytes.Repeat([]byte{'x'}, 100)))
	must(t, tree.AddFile("big", 0o644, bytes.Repeat([]byte{'y'}, 60)))
	problems := validationProblems(t, Validate(tree, x86, InitNone, Limits{MaxTotalBytes: 150, MaxFileBytes: 80, MaxEntries: 1}))
	want := []string{
		"2 entries, over the limit of 1",
		"file(s) over the per-file limit of 80 bytes: init (100 bytes)",
		"160 bytes of files, over the limit of 150: remove content (docs, locales) or raise the limit",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "a", Mode: 0o644, Size: 10, Typeflag: tar.TypeReg}))
	_, _ = tw.Write(make([]byte, 10))
	must(t, tw.WriteHeader(&tar.Header{Name: "b", Mode: 0o644, Size: 10, Typeflag: tar.TypeReg}))
	_, _ = tw.Write(make([]byte, 10))
	must(t, tw.Close())
	_, err := FromTar(&buf, Limits{MaxTotalBytes: 15})
	if err == nil || !strings.Contains(err.Error(), "tar member #2 b: the tree is over the size limit of 15 bytes") {
		t.Fatalf("err = %v", err)
	}
}
