package build

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/sha256sum"
	"github.com/guestforge/guestforge/internal/testenv"
)

// These tests run the disk image recipe (the same scripts, arguments and parsers the
// pipeline runs in the image builder) with the host's e2fsprogs, erofs-utils and
// cryptsetup, on a small finished rootfs: fast enough for tier 1, and they show what
// each reproducibility measure is for.

const hostEpoch = 1767225600

// hostRootfs finishes the synthetic raw rootfs and returns the tarball path and stats.
func hostRootfs(t *testing.T) (string, RootfsStats) {
	t.Helper()
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Unix(0, 0))
	out, st := finish(t, raw, fx.spec(initrd.InitSystemd))
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, st
}

func run(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(argv, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// hostExt4 makes an ext4 image from tarball as the pipeline does; fixTimes=false skips
// the debugfs step, to show what it is for.
func hostExt4(t *testing.T, tarball string, st RootfsStats, digest string, fixTimes bool) string {
	t.Helper()
	dir := t.TempDir()
	staging, img := filepath.Join(dir, "rootfs"), filepath.Join(dir, "rootfs.img")
	conf := filepath.Join(dir, "mke2fs.conf")
	if err := os.WriteFile(conf, []byte(diskimage.Mke2fsConf), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"E2FSPROGS_FAKE_TIME=" + strconv.Itoa(hostEpoch), "MKE2FS_CONFIG=" + conf, "TZ=UTC"}
	run(t, env, "sh", "-c", unpackScript, "sh", tarball, staging)
	run(t, env, diskimage.Mkfs4Args(diskimage.PlanExt4(ext4Content(st)), diskimage.ContentUUID(digest, "ext4 uuid"), diskimage.ContentUUID(digest, "ext4 hash seed"), "gf-test", staging, img)...)
	if fixTimes {
		used, err := diskimage.UsedInodes(run(t, env, "dumpe2fs", img))
		if err != nil {
			t.Fatal(err)
		}
		script := filepath.Join(dir, "times.debugfs")
		if err := os.WriteFile(script, []byte(diskimage.DebugfsTimes(used, hostEpoch)), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, env, "sh", "-c", debugfsScript, "sh", script, img)
	}
	run(t, env, "e2fsck", "-fn", img)
	return img
}

func requireImageTools(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t) // tar restores owners and device nodes only as root
	for _, tool := range []string{"mkfs.ext4", "dumpe2fs", "debugfs", "e2fsck", "mkfs.erofs", "veritysetup", "tar"} {
		testenv.RequireTool(t, tool)
	}
}

func TestExt4ReproducibleOnHost(t *testing.T) {
	requireImageTools(t)
	tarball, st := hostRootfs(t)
	digest, _, err := sha256sum.File(tarball)
	if err != nil {
		t.Fatal(err)
	}
	a := hostExt4(t, tarball, st, digest, true)
	// The change time of the staged files is the moment tar wrote them: unpack the
	// second copy at least a second later.
	time.Sleep(1100 * time.Millisecond)
	b := hostExt4(t, tarball, st, digest, true)
	sa, _, _ := sha256sum.File(a)
	sb, _, _ := sha256sum.File(b)
	if sa != sb {
		t.Fatalf("two ext4 images of the same rootfs differ: %s vs %s", sa, sb)
	}
	// Without the debugfs pass the staging tree's change times leak into the image.
	time.Sleep(1100 * time.Millisecond)
	c := hostExt4(t, tarball, st, digest, false)
	if sc, _, _ := sha256sum.File(c); sc == sa {
		t.Fatal("the image without the time fix equals the fixed one: the test cannot see a leak")
	}
	// Even unfixed, tar left every directory at the epoch: entries follow their
	// directory in the tarball (rootfs.ComparePaths).
	if stat := run(t, nil, "debugfs", "-R", "stat /etc/ca-certificates", c); !strings.Contains(stat, "mtime: 0x6955b900") {
		t.Errorf("tar left /etc/ca-certificates with another mtime than the epoch:\n%s", stat)
	}
	info := run(t, nil, "dumpe2fs", "-h", a)
	for _, want := range []string{"Filesystem UUID:          " + diskimage.ContentUUID(digest, "ext4 uuid"),
		"Directory Hash Seed:      " + diskimage.ContentUUID(digest, "ext4 hash seed"), "Filesystem created:       Thu Jan  1 00:00:00 2026"} {
		if !strings.Contains(info, want) {
			t.Errorf("dumpe2fs -h lacks %q", want)
		}
	}
	// Kata mounts an ext4 root with data=ordered, which needs a journal; the
	// journal is the fixed 4 MiB, not one sized by mke2fs from the image.
	for _, want := range []string{"has_journal", "Total journal size:       4096k"} {
		if !strings.Contains(info, want) {
			t.Errorf("dumpe2fs -h lacks %q (Kata's rootflags=data=ordered needs a journal):\n%s", want, info)
		}
	}
	// What the pipeline put in the image is what the rootfs said.
	stat := run(t, nil, "debugfs", "-R", "stat /etc/shadow", a)
	for _, want := range []string{"User:     0   Group:    42", "Mode:  0640", "ctime: 0x6955b900:00000000"} {
		if !strings.Contains(stat, want) {
			t.Errorf("debugfs stat /etc/shadow lacks %q:\n%s", want, stat)
		}
	}
	if ls := run(t, nil, "debugfs", "-R", "ls -l /usr/bin", a); !strings.Contains(ls, "kata-agent") {
		t.Errorf("the agent is not in /usr/bin:\n%s", ls)
	}
}

func TestErofsAndVerityOnHost(t *testing.T) {
	requireImageTools(t)
	tarball, _ := hostRootfs(t)
	digest, _, err := sha256sum.File(tarball)
	if err != nil {
		t.Fatal(err)
	}
	build := func() string {
		dir := t.TempDir()
		staging, img := filepath.Join(dir, "rootfs"), filepath.Join(dir, "rootfs.img")
		run(t, nil, "sh", "-c", unpackScript, "sh", tarball, staging)
		run(t, nil, "mkfs.erofs", "--quiet", "-U", diskimage.ContentUUID(digest, "erofs uuid"), "-T", strconv.Itoa(hostEpoch), img, staging)
		run(t, nil, "truncate", "-s", "%"+strconv.Itoa(diskimage.FilesystemAlign), img)
		return img
	}
	a := build()
	time.Sleep(1100 * time.Millisecond)
	b := build()
	sa, _, _ := sha256sum.File(a)
	sb, _, _ := sha256sum.File(b)
	if sa != sb {
		t.Fatalf("two erofs images of the same rootfs differ: %s vs %s", sa, sb)
	}
	if st, _ := os.Stat(a); st.Size()%diskimage.FilesystemAlign != 0 {
		t.Errorf("erofs image is %d bytes, not MiB-aligned", st.Size())
	}
	format := func(img string) (diskimage.VerityInfo, string) {
		tree := img + ".verity"
		out := run(t, nil, "veritysetup", "format", "--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096",
			"--salt="+diskimage.VeritySalt(sa), "--uuid="+diskimage.ContentUUID(sa, "verity uuid"), img, tree)
		v, err := diskimage.ParseVerityFormat(out)
		if err != nil {
			t.Fatal(err)
		}
		return v, tree
	}
	va, ta := format(a)
	vb, tb := format(b)
	if va.RootHash != vb.RootHash {
		t.Fatalf("root hashes differ: %s vs %s", va.RootHash, vb.RootHash)
	}
	ha, _, _ := sha256sum.File(ta)
	hb, _, _ := sha256sum.File(tb)
	if ha != hb {
		t.Fatalf("hash trees differ")
	}
	run(t, nil, "veritysetup", "verify", a, ta, va.RootHash)
	// A flipped byte in the data is caught.
	f, err := os.OpenFile(a, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, 4096*2+17); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := exec.Command("veritysetup", "verify", a, ta, va.RootHash).Run(); err == nil {
		t.Fatal("veritysetup verify accepted a modified image")
	}
}
