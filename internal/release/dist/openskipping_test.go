package dist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSkippingLeavesBookkeepingOut(t *testing.T) {
	root := t.TempDir()
	for _, rel := range []string{"x86_64/initrd-default.img", "logs/engine.log", ".export-1/x86_64/vmlinuz-6.12.117-abc", "report.json"} {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(root); err == nil || !strings.Contains(err.Error(), `unexpected directory ".export-1"`) {
		t.Fatalf("Open: %v, want the hidden directory refused (a release tree allows no bookkeeping)", err)
	}
	tr, err := OpenSkipping(root, "logs")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Arches) != 1 || strings.Join(tr.Arches[0].Files, ",") != "x86_64/initrd-default.img" || strings.Join(tr.Top, ",") != "report.json" {
		t.Errorf("tree = arches %+v top %v", tr.Arches, tr.Top)
	}
	// Only the named directories are skipped: anything else is still a surprise.
	if err := os.Mkdir(filepath.Join(root, "junk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSkipping(root, "logs"); err == nil {
		t.Error("OpenSkipping accepted an unknown directory")
	}
}
