package initrd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/testenv"
)

const testEpoch = 1767225600 // 2026-01-01T00:00:00Z

// sampleFile is one file of the test tree; mode 0 means a directory, a
// non-empty link a symlink, hardlinkOf another name of that file.
type sampleFile struct {
	path, body, link, hardlinkOf string
	mode                         os.FileMode
}

var sample = []sampleFile{
	{path: "etc", mode: 0o755 | os.ModeDir},
	{path: "etc/hostname", body: "guest\n", mode: 0o644},
	{path: "etc/shadow", body: "root:*:1::::::\n", mode: 0o640},
	{path: "etc/mtab", link: "../proc/self/mounts"},
	{path: "usr/bin", mode: 0o755 | os.ModeDir},
	{path: "usr/bin/tool", body: "#!/bin/sh\necho tool\n", mode: 0o755},
	{path: "usr/bin/tool-alias", hardlinkOf: "usr/bin/tool"},
	{path: "usr/bin/su", body: "setuid binary stand-in", mode: 0o4755 | os.ModeSetuid},
	{path: "usr/lib/empty", body: "", mode: 0o600},
	{path: "bin", link: "usr/bin"},
	{path: "tmp", mode: 0o1777 | os.ModeDir | os.ModeSticky},
	{path: "var/log/deep/nested/dir", mode: 0o750 | os.ModeDir},
	{path: "a-b", body: "sorts before a/", mode: 0o644},
	{path: "a/z", body: "x", mode: 0o644},
}

// makeTree writes sample under root. Parents not listed are created with
// whatever mode the umask gives, which must not matter for listed entries.
func makeTree(t *testing.T, root string) {
	t.Helper()
	for _, f := range sample {
		p := filepath.Join(root, f.path)
		must(t, os.MkdirAll(filepath.Dir(p), 0o777))
		switch {
		case f.link != "":
			must(t, os.Symlink(f.link, p))
		case f.hardlinkOf != "":
			must(t, os.Link(filepath.Join(root, f.hardlinkOf), p))
		case f.mode.IsDir():
			must(t, os.MkdirAll(p, 0o777))
			must(t, os.Chmod(p, f.mode))
		default:
			must(t, os.WriteFile(p, []byte(f.body), 0o600))
			must(t, os.Chmod(p, f.mode))
		}
	}
}

func packDir(t *testing.T, root string, c Compression) []byte {
	t.Helper()
	tree, err := FromDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Pack(&buf, tree, WriteOptions{Epoch: testEpoch}, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestSameTreeSameBytes packs one tree and a copy of it made "on another
// day": different mtimes, different owners, a different umask while copying
// and packing, files created in a different order. Every compression must
// give the same sha256.
func TestSameTreeSameBytes(t *testing.T) {
	a := t.TempDir()
	old := syscall.Umask(0o022)
	makeTree(t, a)
	syscall.Umask(0o077)
	b := t.TempDir()
	// Reverse creation order, so directory order on disk differs too.
	slices.Reverse(sample)
	func() {
		defer slices.Reverse(sample)
		for _, f := range sample {
			if f.hardlinkOf != "" {
				continue // created after its target below
			}
			p := filepath.Join(b, f.path)
			must(t, os.MkdirAll(filepath.Dir(p), 0o700))
			src := filepath.Join(a, f.path)
			switch {
			case f.link != "":
				must(t, os.Symlink(f.link, p))
			case f.mode.IsDir():
				must(t, os.MkdirAll(p, 0o700))
				must(t, os.Chmod(p, f.mode))
			default:
				data, err := os.ReadFile(src)
				must(t, err)
				must(t, os.WriteFile(p, data, 0o600))
				must(t, os.Chmod(p, f.mode))
			}
		}
	}()
	must(t, os.Link(filepath.Join(b, "usr/bin/tool"), filepath.Join(b, "usr/bin/tool-alias")))
	// Implicit parents (usr, usr/lib, var, ...) got 0700 here and 0755 in a:
	// they are host accidents, not content, so make them agree as a real
	// copy (cp -a) would; what differs is only metadata we drop.
	for _, d := range []string{"usr", "usr/lib", "var", "var/log", "var/log/deep", "var/log/deep/nested", "a"} {
		st, err := os.Stat(filepath.Join(a, d))
		must(t, err)
		must(t, os.Chmod(filepath.Join(b, d), st.Mode().Perm()))
	}
	later := time.Date(2031, 7, 4, 12, 0, 0, 0, time.UTC)
	must(t, filepath.Walk(b, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, later, later)
	}))
	if os.Geteuid() == 0 {
		must(t, filepath.Walk(b, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 4242, 4343)
		}))
		// chown(2) clears setuid/setgid; a faithful copy (cp -a) restores them.
		for _, f := range sample {
			if f.mode&(os.ModeSetuid|os.ModeSetgid) != 0 {
				must(t, os.Chmod(filepath.Join(b, f.path), f.mode))
			}
		}
	} else {
		t.Log("not root: the copy keeps our uid (mtimes and umask still differ)")
	}

	for _, c := range Compressions() {
		syscall.Umask(0o022)
		x := packDir(t, a, c)
		syscall.Umask(0o077)
		y := packDir(t, b, c)
		if sha(x) != sha(y) {
			t.Errorf("%s: sha256 differs: %s vs %s%s", c, sha(x), sha(y), listingDiff(t, x, y))
		}
	}
	syscall.Umask(old)

	// And what was packed is what we expect, in order, with host metadata gone.
	tree, err := FromDir(b)
	must(t, err)
	var raw bytes.Buffer
	_, err = WriteNewc(&raw, tree, WriteOptions{Epoch: testEpoch})
	must(t, err)
	hs, _, err := List(&raw)
	must(t, err)
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if h.UID != 0 || h.GID != 0 || h.MTime != testEpoch || h.DevMajor != 0 || h.DevMinor != 0 {
			t.Errorf("%s: host metadata leaked: %+v", h.Name, h)
		}
	}
	want := []string{"a", "a-b", "a/z", "bin", "etc", "etc/hostname", "etc/mtab", "etc/shadow", "tmp", "usr", "usr/bin",
		"usr/bin/su", "usr/bin/tool", "usr/bin/tool-alias", "usr/lib", "usr/lib/empty", "var", "var/log", "var/log/deep",
		"var/log/deep/nested", "var/log/deep/nested/dir"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries:\n got %q\nwant %q", names, want)
	}
}

// gnuCpioTree is the sample tree plus what the init wiring adds (device
// nodes), packed uncompressed.
func gnuCpioArchive(t *testing.T) ([]byte, *Tree) {
	t.Helper()
	root := t.TempDir()
	makeTree(t, root)
	tree, err := FromDir(root)
	must(t, err)
	must(t, tree.AddDevice("dev/console", KindCharDev, 5, 1, 0o600))
	must(t, tree.AddDevice("dev/sda", KindBlockDev, 8, 0, 0o660))
	var buf bytes.Buffer
	_, err = WriteNewc(&buf, tree, WriteOptions{Epoch: testEpoch, Owners: []Owner{{Path: "var/log", UID: 1000, GID: 1001}}})
	must(t, err)
	return buf.Bytes(), tree
}

// TestGNUCpioLists: GNU cpio reads our archive, lists it sorted, and shows
// the modes, owners, device numbers and symlink targets we wrote.
func TestGNUCpioLists(t *testing.T) {
	cpioBin := testenv.RequireTool(t, "cpio")
	archive, tree := gnuCpioArchive(t)

	cmd := exec.Command(cpioBin, "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(archive)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	names := strings.Split(strings.TrimSpace(string(out)), "\n")
	if !slices.IsSorted(names) {
		t.Fatalf("cpio -t order is not sorted: %q", names)
	}
	var want []string
	for _, e := range tree.Entries() {
		want = append(want, e.Path)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("cpio -t:\n got %q\nwant %q", names, want)
	}

	cmd = exec.Command(cpioBin, "-tv", "--quiet", "--numeric-uid-gid")
	cmd.Stdin = bytes.NewReader(archive)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("cpio -tv: %v", err)
	}
	for _, line := range []string{
		"crw-------   1 0        0          5,   1 Jan  1  2026 dev/console",
		"brw-rw----   1 0        0          8,   0 Jan  1  2026 dev/sda",
		"lrwxrwxrwx   1 0        0              19 Jan  1  2026 etc/mtab -> ../proc/self/mounts",
		"-rwsr-xr-x   1 0        0              22 Jan  1  2026 usr/bin/su",
		"drwxrwxrwt   2 0        0               0 Jan  1  2026 tmp",
		"drwxr-xr-x   3 1000     1001            0 Jan  1  2026 var/log",
		"-rwxr-xr-x   2 0        0              20 Jan  1  2026 usr/bin/tool",
		"-rwxr-xr-x   2 0        0               0 Jan  1  2026 usr/bin/tool-alias",
	} {
		if !strings.Contains(string(out), line+"\n") {
			t.Errorf("cpio -tv lacks %q; it printed:\n%s", line, out)
		}
	}
}

// TestGNUCpioExtracts: GNU cpio extracts the archive to the same content:
// bytes, modes, mtimes, symlinks, and one inode for the hardlinked pair.
func TestGNUCpioExtracts(t *testing.T) {
	cpioBin := testenv.RequireTool(t, "cpio")
	archive, tree := gnuCpioArchive(t)
	dest := t.TempDir()
	// Devices need root to mknod; without root GNU cpio reports them and
	// goes on, so extract everything else and check devices only as root.
	args := []string{"-i", "-d", "-m", "--quiet", "--no-absolute-filenames"}
	if os.Geteuid() != 0 {
		args = append(args, "-f", "dev/*")
	}
	cmd := exec.Command(cpioBin, args...)
	cmd.Stdin = bytes.NewReader(archive)
	cmd.Dir = dest
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v\n%s", err, out)
	}
	for _, e := range tree.Entries() {
		p := filepath.Join(dest, e.Path)
		if os.Geteuid() != 0 && strings.HasPrefix(e.Path, "dev/") {
			continue
		}
		st, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s not extracted: %v", e.Path, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if got := uint32(sys.Mode) & PermMask; got != e.Perm && e.Kind != KindSymlink {
			t.Errorf("%s: mode %04o, want %04o", e.Path, got, e.Perm)
		}
		if e.Kind != KindSymlink && e.Kind != KindDir && st.ModTime().Unix() != testEpoch {
			t.Errorf("%s: mtime %v, want the epoch", e.Path, st.ModTime())
		}
		switch e.Kind {
		case KindRegular:
			got, err := os.ReadFile(p)
			must(t, err)
			rc, err := e.Open()
			must(t, err)
			var want bytes.Buffer
			_, _ = want.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s: content %q, want %q", e.Path, got, want.Bytes())
			}
		case KindSymlink:
			got, err := os.Readlink(p)
			must(t, err)
			if got != e.Linkname {
				t.Errorf("%s -> %s, want %s", e.Path, got, e.Linkname)
			}
		case KindCharDev, KindBlockDev:
			if sys.Rdev != uint64(e.Major)<<8|uint64(e.Minor) {
				t.Errorf("%s: rdev %#x, want %d:%d", e.Path, sys.Rdev, e.Major, e.Minor)
			}
		}
	}
	a, err := os.Stat(filepath.Join(dest, "usr/bin/tool"))
	must(t, err)
	b, err := os.Stat(filepath.Join(dest, "usr/bin/tool-alias"))
	must(t, err)
	if !os.SameFile(a, b) {
		t.Error("usr/bin/tool and usr/bin/tool-alias were extracted as two files, want one hardlinked inode")
	}
}

// TestReadBackTar: a tar stream gives the same archive as the directory it
// was made from (what the Dagger pipeline hands over vs what a user packs).
func TestReadBackTar(t *testing.T) {
	tarBin := testenv.RequireTool(t, "tar")
	root := t.TempDir()
	makeTree(t, root)
	fromDir := packDir(t, root, None)

	tarFile := filepath.Join(t.TempDir(), "tree.tar")
	cmd := exec.Command(tarBin, "-C", root, "-cf", tarFile, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	f, err := os.Open(tarFile)
	must(t, err)
	defer f.Close()
	tree, err := FromTar(f, Limits{})
	must(t, err)
	var buf bytes.Buffer
	_, err = Pack(&buf, tree, WriteOptions{Epoch: testEpoch}, None)
	must(t, err)
	if !bytes.Equal(buf.Bytes(), fromDir) {
		t.Fatalf("tar and directory input give different archives (%d vs %d bytes)", buf.Len(), len(fromDir))
	}
}

// listingDiff names the first differing entry of two archives, for failures.
func listingDiff(t *testing.T, x, y []byte) string {
	t.Helper()
	hx, _, errX := List(bytes.NewReader(x))
	hy, _, errY := List(bytes.NewReader(y))
	if errX != nil || errY != nil {
		return fmt.Sprintf(" (unreadable: %v, %v)", errX, errY)
	}
	for i := range min(len(hx), len(hy)) {
		if *hx[i] != *hy[i] {
			return fmt.Sprintf("\nfirst difference:\n  %+v\n  %+v", *hx[i], *hy[i])
		}
	}
	return fmt.Sprintf(" (%d vs %d entries)", len(hx), len(hy))
}
