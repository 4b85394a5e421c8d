//go:build boot

// Boot tier: what the pipelines built boots. The pipeline's own x86_64 test kernel
// (kernel-configs/variants/test) boots (a) the default image's initrd, the agent stand-in
// as PID 1, and (b) the systemd image's ext4 rootfs image as the virtio-blk root disk
// with systemd as init; each must reach the boot probe's line under QEMU TCG.
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags boot -run Boot ./internal/build/
package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/testenv"
)

var bootArch = arch.MustParse("x86_64")

// bootKernelVariant is the kernel the boot tier boots: the test variant (CI's, minutes
// to build), or GUESTFORGE_BOOT_KERNEL_VARIANT (`make test-release`: default, the
// kernel a release ships, through the same launch-conformance boots).
func bootKernelVariant() string {
	if v := os.Getenv("GUESTFORGE_BOOT_KERNEL_VARIANT"); v != "" {
		return v
	}
	return "test"
}

// testKernel is the x86_64 kernel the boot tests boot, built once per test binary.
var testKernel struct {
	once    sync.Once
	path    string
	release string
	err     error
}

func bootKernel(t *testing.T, p *Pipeline, ctx context.Context, repo *Repo) (string, string) {
	t.Helper()
	testKernel.once.Do(func() {
		start := time.Now()
		k, err := p.Kernel(ctx, repo, KernelSpec{Arch: bootArch, Variant: bootKernelVariant()})
		if err != nil {
			testKernel.err = err
			return
		}
		dir := t.TempDir()
		if _, err := k.Dir.Export(ctx, dir); err != nil {
			testKernel.err = err
			return
		}
		// Outlive this test's TempDir: the next test boots the same kernel.
		keep, err := os.MkdirTemp(bootScratch, "kernel-")
		if err != nil {
			testKernel.err = err
			return
		}
		name := k.Name(artifact.KernelImage)
		data, err := os.ReadFile(filepath.Join(dir, bootArch.Name, name))
		if err == nil {
			err = os.WriteFile(filepath.Join(keep, name), data, 0o644)
		}
		testKernel.path, testKernel.release, testKernel.err = filepath.Join(keep, name), k.Release, err
		t.Logf("%s kernel %s-%s: %s", bootKernelVariant(), k.Release, k.ConfigID, time.Since(start).Round(time.Second))
	})
	if testKernel.err != nil {
		t.Fatalf("build the test kernel: %v", testKernel.err)
	}
	return testKernel.path, testKernel.release
}

func bootConsole(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			data, _ := os.ReadFile(f.Name())
			t.Logf("console:\n%s", data)
		}
	})
	return f
}

func TestBootAgentInitrd(t *testing.T) {
	testenv.RequireTool(t, bootArch.QEMUSystem)
	p, ctx := imagePipeline(t, 40*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	kernel, release := bootKernel(t, p, ctx, repo)
	r, err := p.Rootfs(ctx, repo, RootfsSpec{Arch: bootArch, Image: "default"})
	if err != nil {
		t.Fatal(err)
	}
	art, err := p.Initrd(ctx, r, InitrdSpec{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Initrd: art.Path,
		Timeout: 6 * time.Minute, Log: bootConsole(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := boot.OKMarker + " init=agent kernel=" + release + " arch=x86_64"
	if !strings.Contains(res.Line, want) {
		t.Fatalf("probe line %q, want %q", res.Line, want)
	}
	t.Logf("agent initrd booted in %s: %s", res.Duration.Round(time.Millisecond), res.Line)
}

func TestBootSystemdRootDisk(t *testing.T) {
	testenv.RequireTool(t, bootArch.QEMUSystem)
	p, ctx := imagePipeline(t, 40*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	kernel, release := bootKernel(t, p, ctx, repo)
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
	// No initrd: the test kernel has virtio-blk, msdos partitions and ext4 built in; the
	// kernel starts /sbin/init, which is systemd (systemd-sysv), from p1 of Kata's
	// layout. -snapshot keeps the image unchanged.
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Disk: disk,
		Append: "root=/dev/vda1 rootfstype=ext4 ro", ExtraArgs: []string{"-snapshot"},
		Timeout: 8 * time.Minute, Log: bootConsole(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := boot.OKMarker + " init=systemd kernel=" + release + " arch=x86_64"
	if !strings.Contains(res.Line, want) {
		t.Fatalf("probe line %q, want %q", res.Line, want)
	}
	t.Logf("systemd root disk booted in %s: %s", res.Duration.Round(time.Millisecond), res.Line)
}
