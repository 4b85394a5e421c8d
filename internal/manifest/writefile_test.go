package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteInPlaceFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "shared", "toolchain.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "toolchain.yaml")
	if err := os.Symlink(filepath.Join("shared", "toolchain.yaml"), link); err != nil {
		t.Fatal(err)
	}
	if err := WriteInPlace(link, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s was replaced by a %s", link, fi.Mode().Type())
	}
	b, _ := os.ReadFile(real)
	if string(b) != "new\n" {
		t.Fatalf("target holds %q, want the new bytes", b)
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(real))
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteInPlaceErrorNamesTheManifest(t *testing.T) {
	// Renaming onto a directory fails: the message names the manifest only.
	dir := t.TempDir()
	p := filepath.Join(dir, "toolchain.yaml")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p, "keep"), []byte("x"), 0o644)
	err := WriteInPlace(p, []byte("y"))
	want := "replace " + p + ": file exists; the file is unchanged"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
