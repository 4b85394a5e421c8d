package sums_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/testenv"
)

func writeTree(t *testing.T) *dist.Tree {
	t.Helper()
	root := filepath.Join(t.TempDir(), "2026.1.0")
	files := map[string]string{
		"x86_64/vmlinuz-6.12.117-abc123":  "kernel",
		"x86_64/initrd-default.img":       "initrd",
		"aarch64/vmlinuz-6.12.117-abc123": "arm kernel",
		"provenance.intoto.jsonl":         "{}\n",
		"x86_64/sbom-default.spdx.json":   "{}",
		"SHA256SUMS.sigstore.json":        "not summed",
	}
	for rel, body := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestWriteIsSortedDeterministicAndExcludesBundles(t *testing.T) {
	tr := writeTree(t)
	if _, err := sums.Write(tr); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(tr.Path(dist.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(first)), "\n")
	var paths []string
	for _, l := range lines {
		paths = append(paths, l[66:])
	}
	wantPaths := []string{"aarch64/vmlinuz-6.12.117-abc123", "provenance.intoto.jsonl", "x86_64/initrd-default.img",
		"x86_64/sbom-default.spdx.json", "x86_64/vmlinuz-6.12.117-abc123"}
	if strings.Join(paths, ",") != strings.Join(wantPaths, ",") {
		t.Fatalf("SHA256SUMS lists %v, want %v (sorted bytewise, bundles excluded)", paths, wantPaths)
	}
	// Rewriting gives the same bytes.
	tr2, err := dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sums.Write(tr2); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(tr.Path(dist.SumsFile))
	if string(first) != string(second) {
		t.Fatalf("SHA256SUMS changed between two writes:\n%s\n%s", first, second)
	}
}

func TestCoreutilsAgrees(t *testing.T) {
	tool := testenv.RequireTool(t, "sha256sum")
	tr := writeTree(t)
	if _, err := sums.Write(tr); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-c", "--strict", dist.SumsFile)
	cmd.Dir = tr.Root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), ": OK"); got != 5 {
		t.Fatalf("sha256sum -c checked %d files, want 5:\n%s", got, out)
	}

	// And the other way round: coreutils' own output parses and verifies.
	cmd = exec.Command(tool, "x86_64/initrd-default.img", "provenance.intoto.jsonl")
	cmd.Dir = tr.Root
	theirs, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := sums.Parse(strings.NewReader(string(theirs)), "coreutils")
	if err != nil {
		t.Fatal(err)
	}
	if err := sums.Verify(tr.Root, entries); err != nil {
		t.Fatal(err)
	}

	// A flipped byte: both tools fail, and we name the file.
	p := tr.Path("x86_64/initrd-default.img")
	if err := os.WriteFile(p, []byte("initrD"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(tool, "-c", dist.SumsFile)
	cmd.Dir = tr.Root
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "x86_64/initrd-default.img: FAILED") {
		t.Fatalf("sha256sum -c accepted a modified file: %v\n%s", err, out)
	}
	all, err := sums.ReadFile(tr.Path(dist.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	err = sums.Verify(tr.Root, all)
	var mm *sums.MismatchError
	if !errors.As(err, &mm) || mm.Path != "x86_64/initrd-default.img" || mm.Got == "" {
		t.Fatalf("Verify = %v, want a mismatch naming x86_64/initrd-default.img", err)
	}
}

func TestParseErrors(t *testing.T) {
	const good = "4dd1e6d8f5b9e1cd4e4e3e24bcbaa62d5b1c2a85d1d21bc26e4b8a0e2a2b2e9e"
	cases := []struct{ name, in, want string }{
		{"short", "abc  x\n", "SUMS:1: not a sha256sum line"},
		{"upper hex", strings.ToUpper(good) + "  x\n", "SUMS:1: "},
		{"escape", good + "  ../etc/passwd\n", "SUMS:1: path \"../etc/passwd\""},
		{"absolute", good + "  /etc/passwd\n", "SUMS:1: path \"/etc/passwd\""},
		{"dup", good + "  a\n" + good + " *a\n", "SUMS:2: a is listed twice (first at line 1)"},
		{"empty", "\n", "SUMS: no entries"},
		{"backslash", good + "  a\\b\n", "needs escaping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sums.Parse(strings.NewReader(c.in), "SUMS")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse(%q) = %v, want error containing %q", c.in, err, c.want)
			}
		})
	}
}

func TestVerifyMissingFile(t *testing.T) {
	tr := writeTree(t)
	entries, err := sums.Write(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tr.Path("provenance.intoto.jsonl")); err != nil {
		t.Fatal(err)
	}
	err = sums.Verify(tr.Root, entries)
	var mm *sums.MismatchError
	if !errors.As(err, &mm) || mm.Path != "provenance.intoto.jsonl" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Verify = %v, want a missing-file error naming provenance.intoto.jsonl", err)
	}
}
