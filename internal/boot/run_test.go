package boot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
)

// fakeQEMU puts a script named like the arch's qemu-system binary first on
// PATH; it prints script to stdout, so Run's scanning, early failure and
// timeout paths are tested without booting anything.
func fakeQEMU(t *testing.T, a arch.Arch, script string) Config {
	t.Helper()
	dir := t.TempDir()
	body := "#!/bin/sh\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, a.QEMUSystem), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Config{Arch: a, Kernel: kernel, Timeout: 20 * time.Second}
}

var x86 = arch.MustParse("x86_64")

func TestRunFindsMarkerAndPowerOff(t *testing.T) {
	cfg := fakeQEMU(t, x86, `printf 'SeaBIOS\r\n[ 1.0] booting\r\nGUESTFORGE-BOOT-OK init=agent kernel=6.1.0 arch=x86_64\r\n[ 2.0] reboot: Power down\r\n'`)
	var log strings.Builder
	cfg.Log = &log
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Line != "GUESTFORGE-BOOT-OK init=agent kernel=6.1.0 arch=x86_64" || !res.PoweredOff {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasSuffix(res.Console, "[ 2.0] reboot: Power down\n") || strings.Contains(res.Console, "\r") {
		t.Fatalf("console %q", res.Console)
	}
	if log.String() != res.Console {
		t.Fatalf("log %q differs from console %q", log.String(), res.Console)
	}
}

func TestRunFailsFastOnPanic(t *testing.T) {
	// The script would keep QEMU "running" for a minute after the panic.
	cfg := fakeQEMU(t, x86, `echo 'Run /init as init process'; echo 'Kernel panic - not syncing: No working init found.'; sleep 60`)
	start := time.Now()
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `guest failed after`) || !strings.Contains(err.Error(), "--- console tail ---\nRun /init as init process\nKernel panic") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("took %s to notice the panic", d)
	}
}

func TestRunProbeFailure(t *testing.T) {
	cfg := fakeQEMU(t, x86, `echo 'GUESTFORGE-BOOT-FAIL init=agent error="mount proc on /proc: no such device"'`)
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "mount proc on /proc: no such device") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunExitWithoutMarker(t *testing.T) {
	cfg := fakeQEMU(t, x86, `echo 'qemu: could not load kernel'; exit 1`)
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `QEMU exited (exit status 1)`) || !strings.HasSuffix(err.Error(), "--- console tail ---\nqemu: could not load kernel") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunTimeoutKills(t *testing.T) {
	cfg := fakeQEMU(t, x86, `i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.1; done`)
	cfg.Timeout = 2 * time.Second
	start := time.Now()
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `no "GUESTFORGE-BOOT-OK" within 2s`) || !strings.Contains(err.Error(), "\nline ") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	tail := err.Error()[strings.Index(err.Error(), "--- console tail ---\n")+len("--- console tail ---\n"):]
	if n := len(strings.Split(tail, "\n")); n > tailLines {
		t.Fatalf("tail has %d lines, want at most %d", n, tailLines)
	}
}

func TestRunMissingInputs(t *testing.T) {
	if _, err := Run(context.Background(), Config{Arch: x86, Kernel: "/nonexistent/vmlinuz"}); err == nil || !strings.Contains(err.Error(), "boot: kernel: stat /nonexistent/vmlinuz") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	k := filepath.Join(t.TempDir(), "k")
	_ = os.WriteFile(k, nil, 0o644)
	if _, err := Run(context.Background(), Config{Arch: x86, Kernel: k}); err == nil || !strings.Contains(err.Error(), "qemu-system-x86_64 not on PATH") {
		t.Fatalf("err = %v", err)
	}
}

// TestArgs pins the QEMU command line per architecture: machine, CPU and
// console come from internal/arch, the disk uses the machine's virtio bus.
func TestArgs(t *testing.T) {
	got := Args(Config{Arch: x86, Kernel: "k", Initrd: "i", Disk: "d.img", Append: "quiet"})
	want := []string{"-machine", "q35", "-cpu", "max", "-m", "1024", "-smp", "1", "-nographic", "-no-reboot", "-no-user-config",
		"-nic", "none", "-accel", "tcg", "-kernel", "k", "-initrd", "i", "-drive", "file=d.img,format=raw,if=virtio",
		"-append", "console=ttyS0 panic=-1 quiet"}
	if !slices.Equal(got, want) {
		t.Fatalf("args\n got %q\nwant %q", got, want)
	}
	for _, a := range arch.All() {
		args := strings.Join(Args(Config{Arch: a, Kernel: "k", MemoryMiB: 2048}), " ")
		for _, part := range []string{"-machine " + a.QEMUMachine, "-cpu " + a.QEMUCPU, "-m 2048", "console=" + a.Console} {
			if !strings.Contains(args, part) {
				t.Errorf("%s: %q lacks %q", a.Name, args, part)
			}
		}
	}
}

// TestLaunchArgs: under a VMM's Launch the harness adds only TCG, the kernel and
// initrd, and keeps stdio free for the VMM's console (no -nographic, no default
// serial unless the VMM asks for one).
func TestLaunchArgs(t *testing.T) {
	l := &Launch{Machine: "q35,nvdimm=on", Memory: "1024M,slots=10,maxmem=2048M",
		Devices: []string{"-device", "virtio-serial-pci,id=serial0", "-device", "virtconsole,chardev=charconsole0,id=console0",
			"-chardev", "stdio,id=charconsole0"},
		Cmdline: "console=hvc0 console=hvc1 panic=1"}
	got := strings.Join(Args(Config{Arch: x86, Kernel: "/k", Initrd: "/i", Launch: l}), " ")
	want := "-machine q35,nvdimm=on -cpu " + x86.QEMUCPU + " -m 1024M,slots=10,maxmem=2048M -smp 1 -display none -monitor none " +
		"-no-reboot -no-user-config -nodefaults -nic none -accel tcg -kernel /k -serial none -initrd /i " +
		"-device virtio-serial-pci,id=serial0 -device virtconsole,chardev=charconsole0,id=console0 -chardev stdio,id=charconsole0 " +
		"-append console=hvc0 console=hvc1 panic=1"
	if got != want {
		t.Fatalf("args\n%s\nwant\n%s", got, want)
	}
	l.Devices = []string{"-serial", "chardev:charconsole0", "-chardev", "stdio,id=charconsole0"}
	if got := strings.Join(Args(Config{Arch: x86, Kernel: "/k", Launch: l}), " "); strings.Contains(got, "-serial none") {
		t.Fatalf("a VMM with its own serial console got -serial none: %s", got)
	}
	if _, err := Run(t.Context(), Config{Arch: x86, Kernel: "/k", Disk: "/d", Launch: l}); err == nil || !strings.Contains(err.Error(), "leave Disk and Append empty") {
		t.Fatalf("Run with Launch and Disk: %v", err)
	}
}
