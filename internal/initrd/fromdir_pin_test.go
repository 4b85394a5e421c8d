package initrd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// An initrd packed from a directory is pinned by digest. The digest was computed on
// main at a3e49f1, before the tree type moved to internal/fstree and FromDir began
// making an inode's later names with AddHardlink (issue 15). The tree has an inode
// with three names whose walk order (a, a/x, a.b) differs from archive order (a,
// a.b, a/x), so the name that carries the bytes is the archive's first, not the
// walk's. Every mode is set explicitly, so the umask cannot reach the digest.
func TestFromDirPinnedDigest(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"a", "bin", "etc"} {
		must(os.Mkdir(filepath.Join(root, d), 0o755))
		must(os.Chmod(filepath.Join(root, d), 0o755))
	}
	must(os.Chmod(filepath.Join(root, "etc"), 0o750))
	must(os.WriteFile(filepath.Join(root, "a", "x"), []byte("one inode, three names\n"), 0o644))
	must(os.Chmod(filepath.Join(root, "a", "x"), 0o4755))
	must(os.Link(filepath.Join(root, "a", "x"), filepath.Join(root, "a.b")))
	must(os.Link(filepath.Join(root, "a", "x"), filepath.Join(root, "bin", "x")))
	must(os.WriteFile(filepath.Join(root, "etc", "motd"), []byte("hello\n"), 0o644))
	must(os.Chmod(filepath.Join(root, "etc", "motd"), 0o640))
	must(os.Symlink("../a/x", filepath.Join(root, "bin", "y")))
	must(os.Symlink(filepath.Join(root, "etc", "motd"), filepath.Join(root, "motd")))

	tree, err := FromDir(root)
	must(err)
	var out bytes.Buffer
	_, err = WriteNewc(&out, tree, WriteOptions{Epoch: 1767225600, Owners: []Owner{{Path: "etc", UID: 0, GID: 42}}})
	must(err)
	sum := sha256.Sum256(out.Bytes())
	const want = "666b9d0e9308f2651ec05527d27ac6bbbafdb00a9e3e0deec46177527ce9e77c"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("newc of the pinned directory: sha256 %s, want %s", got, want)
	}
}
