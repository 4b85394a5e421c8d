package build

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree writes files (path -> content) under root.
func tree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// contents reads every file under root as path -> content.
func contents(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplaceEntriesReplacesWholeArchDirs(t *testing.T) {
	dist := t.TempDir()
	tree(t, dist, map[string]string{
		"x86_64/vmlinuz-6.12.117-old": "old kernel",
		"x86_64/initrd-default.img":   "old initrd",
		"aarch64/vmlinuz-6.12.117-a":  "arm kernel",
		"logs/engine.log":             "log",
		"report.json":                 "{}",
	})
	staged := filepath.Join(dist, ".export-1")
	tree(t, staged, map[string]string{
		"x86_64/vmlinuz-6.12.117-new": "new kernel",
		"x86_64/initrd-default.img":   "new initrd",
	})
	placed, err := ReplaceEntries(staged, dist)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x86_64/initrd-default.img", "x86_64/vmlinuz-6.12.117-new"}; !slices.Equal(placed, want) {
		t.Errorf("placed %v, want %v", placed, want)
	}
	got := contents(t, dist)
	want := map[string]string{
		"x86_64/vmlinuz-6.12.117-new": "new kernel",
		"x86_64/initrd-default.img":   "new initrd",
		"aarch64/vmlinuz-6.12.117-a":  "arm kernel",
		"logs/engine.log":             "log",
		"report.json":                 "{}",
	}
	for rel, c := range want {
		if got[rel] != c {
			t.Errorf("%s = %q, want %q", rel, got[rel], c)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("left behind: %s (an earlier build's file, or a temporary)", rel)
		}
	}
}

func TestReplaceEntriesFailureLeavesDistAsItWas(t *testing.T) {
	dist := t.TempDir()
	before := map[string]string{
		"aarch64/vmlinuz-6.12.117-a": "old arm kernel",
		"x86_64/vmlinuz-6.12.117-x":  "old x86 kernel",
	}
	tree(t, dist, before)
	staged := filepath.Join(dist, ".export-1")
	tree(t, staged, map[string]string{
		"aarch64/vmlinuz-6.12.117-b": "new arm kernel",
		"x86_64/vmlinuz-6.12.117-y":  "new x86 kernel",
	})
	// The second arch's move into place fails (a full disk, a permission): the
	// first arch, already replaced, must be put back.
	calls := 0
	rename = func(from, to string) error {
		if strings.HasSuffix(to, filepath.Join(dist, "x86_64")) && strings.Contains(from, ".export-") {
			calls++
			return errors.New("injected: no space left on device")
		}
		return os.Rename(from, to)
	}
	t.Cleanup(func() { rename = os.Rename })
	if _, err := ReplaceEntries(staged, dist); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("error = %v, want the injected failure", err)
	}
	if calls != 1 {
		t.Fatalf("the injected failure ran %d times", calls)
	}
	got := contents(t, dist)
	for rel, c := range before {
		if got[rel] != c {
			t.Errorf("%s = %q after the failed replace, want the earlier %q", rel, got[rel], c)
		}
	}
	for rel := range got {
		if _, ok := before[rel]; !ok && !strings.HasPrefix(rel, ".export-") {
			t.Errorf("the failed replace left %s in dist", rel)
		}
	}
}

func TestReplaceEntriesRefusesAnEmptyExport(t *testing.T) {
	dist := t.TempDir()
	staged := filepath.Join(dist, ".export-1")
	if err := os.Mkdir(staged, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ReplaceEntries(staged, dist); err == nil || !strings.Contains(err.Error(), "exported nothing") {
		t.Fatalf("error = %v, want a refusal of the empty export", err)
	}
}
