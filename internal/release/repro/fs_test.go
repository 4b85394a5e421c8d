package repro

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/guestforge/guestforge/internal/testenv"
)

// guestTree writes a small root tree on the host, every time set to the epoch.
func guestTree(t *testing.T, motd string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	files := map[string]string{
		"etc/hostname":    "guestforge\n",
		"etc/motd":        motd,
		"usr/bin/agent":   strings.Repeat("agent binary\n", 2000), // spans blocks
		"var/lib/dpkg/st": "Package: kmod\n",
	}
	for rel, body := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "usr/bin/agent"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.Repeat("../", 30)+"etc/hostname", filepath.Join(root, "etc/long-link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/initctl"), 0o600); err != nil {
		t.Fatal(err)
	}
	setTimes(t, root, time.Unix(testEpoch, 0))
	return root
}

// setTimes sets every mtime and atime below root (deepest first, so setting a file
// does not move its directory's mtime again).
func setTimes(t *testing.T, root string, at time.Time) {
	t.Helper()
	var paths []string
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	})
	ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(at.UnixNano())}
	for i := len(paths) - 1; i >= 0; i-- {
		// Not os.Chtimes: it follows symlinks, and mkfs copies the link's own times.
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// mkext4 makes an ext4 image of src as the pipeline does: mkfs.ext4 -d with a fixed
// UUID, hash seed and clock, then debugfs setting atime and ctime (which mkfs copies
// from the host's inodes) to the epoch.
func mkext4(t *testing.T, src, out string) {
	t.Helper()
	mkfs := testenv.RequireTool(t, "mkfs.ext4")
	testenv.RequireTool(t, "debugfs")
	cmd := exec.Command(mkfs, "-q", "-F", "-b", "4096", "-I", "256", "-N", "64", "-O", "^has_journal",
		"-U", "0b5c6f0e-0000-4000-8000-000000000001", "-E", "hash_seed=0b5c6f0e-0000-4000-8000-000000000002,root_owner=0:0",
		"-d", src, out, "8M")
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME="+strconv.Itoa(testEpoch))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, b)
	}
	var sif strings.Builder
	for ino := 2; ino <= 64; ino++ {
		if ino > 2 && ino < 11 {
			continue // reserved inodes
		}
		fmt.Fprintf(&sif, "sif <%d> atime @%d\nsif <%d> ctime @%d\n", ino, testEpoch, ino, testEpoch)
	}
	cmds := filepath.Join(t.TempDir(), "times.debugfs")
	if err := os.WriteFile(cmds, []byte(sif.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("debugfs", "-w", "-f", cmds, out).CombinedOutput(); err != nil {
		t.Fatalf("debugfs: %v\n%s", err, b)
	}
}

func ext4Trees(t *testing.T, rel string, srcA, srcB string) [2]string {
	t.Helper()
	root := t.TempDir()
	dirs := [2]string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	for i, src := range []string{srcA, srcB} {
		out := filepath.Join(dirs[i], filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		mkext4(t, src, out)
	}
	return dirs
}

func TestCompareExt4(t *testing.T) {
	const rel = "x86_64/rootfs-default.img"
	same := compare(t, ext4Trees(t, rel, guestTree(t, "welcome\n"), guestTree(t, "welcome\n")))
	if !same.Identical || same.Artifacts[0].Kind != KindExt4 {
		t.Fatalf("two images of equal trees: %s (kind %s)", same.Summary(), same.Artifacts[0].Kind)
	}

	t.Run("injected timestamp", func(t *testing.T) {
		b := guestTree(t, "welcome\n")
		late := time.Unix(testEpoch+3600, 0)
		if err := os.Chtimes(filepath.Join(b, "etc/motd"), late, late); err != nil {
			t.Fatal(err)
		}
		r := compare(t, ext4Trees(t, rel, guestTree(t, "welcome\n"), b))
		wantMember(t, r, rel, "/etc/motd", map[string]string{fMTime: "2023-11-14T22:13:20Z (1700000000)|2023-11-14T23:13:20Z (1700003600)"})
		art := r.Artifact(rel)
		if art.MembersDiffering != 1 {
			t.Errorf("%d members differ, want only /etc/motd: %+v", art.MembersDiffering, art.Members)
		}
		if !strings.HasPrefix(art.Location, "block ") {
			t.Errorf("location %q does not name an inode table block", art.Location)
		}
	})
	t.Run("changed bytes", func(t *testing.T) {
		dirs := ext4Trees(t, rel, guestTree(t, "welcome\n"), guestTree(t, "welcomE\n"))
		// A scratch path with a space: debugfs's command files must quote it.
		scratch := filepath.Join(t.TempDir(), "scratch dir")
		if err := os.Mkdir(scratch, 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := Compare(t.Context(), dirs[0], dirs[1], Options{NoDiffoscope: true, TempDir: scratch})
		if err != nil {
			t.Fatal(err)
		}
		wantMember(t, r, rel, "/etc/motd", map[string]string{fContent: sha("welcome\n") + "|" + sha("welcomE\n")})
	})
	t.Run("added file", func(t *testing.T) {
		b := guestTree(t, "welcome\n")
		if err := os.WriteFile(filepath.Join(b, "etc/build-date"), []byte("2026-11-23\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		setTimes(t, b, time.Unix(testEpoch, 0))
		r := compare(t, ext4Trees(t, rel, guestTree(t, "welcome\n"), b))
		art := r.Artifact(rel)
		// The new file is the cause and comes first; the inode numbers that shifted
		// and the superblock's free counts follow from it and come after.
		if len(art.Members) < 2 || art.Members[0].Member != "/etc/build-date" || art.Members[0].Change != ChangeOnlyInB {
			t.Fatalf("want /etc/build-date (only in b) first, got %+v", art.Members)
		}
		for _, m := range art.Members[1:] {
			for _, f := range m.Fields {
				if m.Member != "(superblock)" && f.Field != fInode {
					t.Errorf("%s: %s differs (%s != %s); only its inode number should", m.Member, f.Field, f.A, f.B)
				}
			}
		}
		if last := art.Members[len(art.Members)-1]; last.Member != "(superblock)" {
			t.Errorf("the superblock (free inode count) is not reported last: %+v", last)
		}
	})
	t.Run("without debugfs", func(t *testing.T) {
		dirs := ext4Trees(t, rel, guestTree(t, "welcome\n"), guestTree(t, "welcomE\n"))
		r, err := Compare(t.Context(), dirs[0], dirs[1], Options{NoDiffoscope: true, TempDir: t.TempDir(),
			LookPath: func(string) (string, error) { return "", exec.ErrNotFound }})
		if err != nil {
			t.Fatal(err)
		}
		art := r.Artifact(rel)
		if r.Identical || art.Offset == nil || !strings.Contains(art.Note, "debugfs not on PATH") {
			t.Fatalf("want a byte offset and a note about debugfs, got %+v", art)
		}
	})
}

func TestCompareErofs(t *testing.T) {
	mkfs := testenv.RequireTool(t, "mkfs.erofs")
	testenv.RequireTool(t, "fsck.erofs")
	const rel = "x86_64/rootfs-default.img"
	root := t.TempDir()
	dirs := [2]string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	for i, motd := range []string{"welcome\n", "welcomE\n"} {
		out := filepath.Join(dirs[i], rel)
		os.MkdirAll(filepath.Dir(out), 0o755)
		if b, err := exec.Command(mkfs, "--quiet", "-U", "0b5c6f0e-0000-4000-8000-000000000001",
			"-T", strconv.Itoa(testEpoch), out, guestTree(t, motd)).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.erofs: %v\n%s", err, b)
		}
	}
	r := compare(t, dirs)
	if k := r.Artifact(rel).Kind; k != KindErofs {
		t.Fatalf("read as %s", k)
	}
	wantMember(t, r, rel, "/etc/motd", map[string]string{fContent: sha("welcome\n") + "|" + sha("welcomE\n")})
}
