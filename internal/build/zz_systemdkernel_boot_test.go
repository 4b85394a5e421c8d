//go:build boot

package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/kconfig"
)

const zzFrag = `# systemd as PID 1 (images/systemd.yaml as the root disk): what systemd's README lists
CONFIG_CGROUPS=y
CONFIG_INOTIFY_USER=y
CONFIG_SIGNALFD=y
CONFIG_TIMERFD=y
CONFIG_NET=y
CONFIG_UNIX=y
CONFIG_FHANDLE=y
`

func TestZZSystemdKernel(t *testing.T) {
	p, ctx := imagePipeline(t, 90*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	tmp := t.TempDir()
	copyTreeZZ(t, filepath.Join(imagesRoot, ConfigsDir), filepath.Join(tmp, ConfigsDir))
	frag := os.Getenv("ZZ_FRAG")
	if frag == "" {
		frag = zzFrag
	}
	if err := os.WriteFile(filepath.Join(tmp, ConfigsDir, "variants", "test", "zz-systemd.conf"), []byte(frag), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := kconfig.LoadFS(os.DirFS(filepath.Join(tmp, ConfigsDir)), ConfigsDir)
	if err != nil {
		t.Fatal(err)
	}
	repo.Configs = tree
	start := time.Now()
	k, err := p.Kernel(ctx, repo, KernelSpec{Arch: bootArch, Variant: "test"})
	if err != nil {
		t.Fatal(err)
	}
	kd := exportDir(t, ctx, k.Dir)
	kernel := filepath.Join(kd, bootArch.Name, "vmlinuz-"+k.Release+"-"+k.ConfigID)
	os.MkdirAll("/var/cache/guestforge/h-debug", 0o755)
	data, _ := os.ReadFile(kernel)
	os.WriteFile("/var/cache/guestforge/h-debug/vmlinuz-systemd-test", data, 0o644)
	t.Logf("kernel %s in %s", k.ConfigID, time.Since(start))
	r, err := p.Rootfs(ctx, repo, RootfsSpec{Arch: bootArch, Image: "systemd"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.DiskImage(ctx, repo, r, DiskSpec{FS: FSExt4})
	if err != nil {
		t.Fatal(err)
	}
	dir := exportDir(t, ctx, img.Dir)
	disk := filepath.Join(dir, img.Files[0])
	var console strings.Builder
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Disk: disk,
		Append: "root=/dev/vda rootfstype=ext4 ro", ExtraArgs: []string{"-snapshot"},
		Timeout: 8 * time.Minute, Log: &console})
	t.Logf("console:\n%s", console.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted in %s: %s", res.Duration, res.Line)
}

func copyTreeZZ(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
