//go:build boot

package boot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/testenv"
)

// These tests boot Debian's stock kernel (linux-image-amd64, installed on the
// host by hack/deps.sh) under QEMU TCG with initrds this repo packs, and wait
// for cmd/bootprobe's line on the serial console. Debian builds virtio and
// ext4 as modules, so the whole guest lives in the initrd.

const epoch = 1767225600

var x86 = arch.MustParse("x86_64")

// debianKernel finds the newest /boot/vmlinuz-* and its release string.
func debianKernel(t *testing.T) (path, release string) {
	t.Helper()
	matches, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(matches) == 0 {
		testenv.Unavailable(t, "no /boot/vmlinuz-*: install linux-image-amd64 (hack/deps.sh)")
	}
	slices.SortFunc(matches, compareVersions)
	path = matches[len(matches)-1]
	return path, strings.TrimPrefix(filepath.Base(path), "vmlinuz-")
}

// compareVersions orders "vmlinuz-6.1.0-9-amd64" before "...-10-amd64".
func compareVersions(a, b string) int {
	num := regexp.MustCompile(`\d+|\D+`)
	pa, pb := num.FindAllString(a, -1), num.FindAllString(b, -1)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		var na, nb int
		if _, err := fmt.Sscan(pa[i], &na); err == nil {
			if _, err := fmt.Sscan(pb[i], &nb); err == nil {
				return na - nb
			}
		}
		return strings.Compare(pa[i], pb[i])
	}
	return len(pa) - len(pb)
}

func buildProbe(t *testing.T, a arch.Arch) string {
	t.Helper()
	testenv.RequireTool(t, "go")
	out := filepath.Join(t.TempDir(), "bootprobe")
	if err := boot.BuildProbe(context.Background(), a, out, ""); err != nil {
		t.Fatal(err)
	}
	return out
}

func bootIt(t *testing.T, kernel, img string, mem int, timeout time.Duration) boot.Result {
	t.Helper()
	testenv.RequireTool(t, x86.QEMUSystem)
	logPath := filepath.Join(t.TempDir(), "console.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	res, err := boot.Run(context.Background(), boot.Config{
		Arch: x86, Kernel: kernel, Initrd: img, Timeout: timeout, MemoryMiB: mem, Log: logFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot took %s under TCG (QEMU exited by itself: %v)", res.Duration.Round(time.Millisecond), res.PoweredOff)
	return res
}

// TestBootAgentMode: an initrd holding only the probe as /init boots, the
// probe reports agent mode and the running kernel, and powers the VM off.
// Both compressions are booted: the kernel must read what we write.
func TestBootAgentMode(t *testing.T) {
	kernel, release := debianKernel(t)
	probe := buildProbe(t, x86)
	for _, c := range []initrd.Compression{initrd.Gzip, initrd.Zstd} {
		t.Run(string(c), func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "initrd.img")
			_, err := initrd.Build(initrd.Spec{Root: t.TempDir(), Init: initrd.InitAgent, Agent: probe, Arch: x86, Compression: c, Epoch: epoch}, img)
			if err != nil {
				t.Fatal(err)
			}
			res := bootIt(t, kernel, img, 512, 3*time.Minute)
			// The probe reports what the guest saw: this harness's serial console and an
			// initrd root (no root= device, so the kernel's rootfs).
			want := "GUESTFORGE-BOOT-OK init=agent kernel=" + release + " arch=x86_64 console=ttyS0 root=rootfs fstype=rootfs dax=0"
			if res.Line != want {
				t.Fatalf("line %q, want %q", res.Line, want)
			}
			if !res.PoweredOff {
				t.Fatal("the probe did not power the VM off")
			}
		})
	}
}

// TestBootSystemdMode: the systemd image's packages (images/systemd.yaml)
// installed by mmdebstrap into a cached fixture, packed from its tarball with
// --init systemd and the probe as the agent unit: systemd starts the unit
// and the probe reports systemd mode.
func TestBootSystemdMode(t *testing.T) {
	kernel, release := debianKernel(t)
	testenv.RequireTool(t, "mmdebstrap")
	tc, err := manifest.Load("../../toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img, err := manifest.LoadImage("../../images/systemd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if img.Init != string(initrd.InitSystemd) {
		t.Fatalf("images/systemd.yaml has init %q", img.Init)
	}
	spec := boot.SpecForImage(tc, img, x86)
	t.Logf("rootfs fixture %s (key %s); building it takes minutes the first time", spec.Suite+"/"+spec.Variant, spec.Key())
	tarPath, err := boot.DebianRootfsTar(context.Background(), spec, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree, err := initrd.FromTar(f, initrd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// What the image pipeline deletes, the initrd need not carry either.
	for _, p := range img.Delete {
		if err := tree.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := initrd.ApplyInit(tree, initrd.InitSystemd, &initrd.Agent{HostPath: buildProbe(t, x86)}); err != nil {
		t.Fatal(err)
	}
	if err := initrd.Validate(tree, x86, initrd.InitSystemd, initrd.Limits{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "initrd-systemd.img")
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	st, err := initrd.Pack(w, tree, initrd.WriteOptions{Epoch: epoch}, initrd.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd initrd: %d entries, %d bytes newc", st.Entries, st.ArchiveBytes)

	res := bootIt(t, kernel, out, 2048, 5*time.Minute)
	want := "GUESTFORGE-BOOT-OK init=systemd kernel=" + release + " arch=x86_64 console=ttyS0 root=rootfs fstype=rootfs dax=0 unit=kata-agent.service"
	if res.Line != want {
		t.Fatalf("line %q, want %q", res.Line, want)
	}
	// systemd 252 prints "Started <unit> - <Description>" with colour codes around the
	// unit name, cut with an ellipsis to the console's width: look at the plain text.
	if !strings.Contains(ansiCodes.ReplaceAllString(res.Console, ""), "Started kata-agent.service") {
		t.Errorf("console does not show systemd starting kata-agent.service:\n%s", boot.LastLines(res.Console, 30))
	}
	if !res.PoweredOff {
		t.Fatal("the probe did not power the VM off")
	}
}

// TestBootBrokenInitFailsFast: an initrd whose /init cannot run makes the
// kernel panic; Run reports it with the console tail long before the timeout.
func TestBootBrokenInitFailsFast(t *testing.T) {
	kernel, _ := debianKernel(t)
	tree := initrd.NewTree()
	if err := tree.AddFile("init", 0o755, []byte("#!/bin/nonexistent-shell\n")); err != nil {
		t.Fatal(err)
	}
	if err := initrd.ApplyInit(tree, initrd.InitAgent, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "broken.img")
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := initrd.Pack(w, tree, initrd.WriteOptions{Epoch: epoch}, initrd.Gzip); err != nil {
		t.Fatal(err)
	}
	w.Close()
	testenv.RequireTool(t, x86.QEMUSystem)
	start := time.Now()
	_, err = boot.Run(context.Background(), boot.Config{Arch: x86, Kernel: kernel, Initrd: out, Timeout: 4 * time.Minute, MemoryMiB: 512})
	if err == nil || !strings.Contains(err.Error(), "Kernel panic - not syncing") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("panic reported after %s: %s", time.Since(start).Round(time.Millisecond), strings.SplitN(err.Error(), "\n", 2)[0])
}

// testWriter sends mmdebstrap's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ansiCodes are the colour escapes systemd writes around unit names.
var ansiCodes = regexp.MustCompile("\x1b\\[[0-9;]*m")
