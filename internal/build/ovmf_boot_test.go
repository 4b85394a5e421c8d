//go:build boot

// Firmware boots: the kernel and initrd a confidential target ships, started
// under QEMU TCG with the OVMF the pipeline builds, with the exact command line
// its reference values measure. There is no SEV or TDX here, so this proves the
// firmware and the measured inputs boot, not a launch digest.
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags boot -run TestOVMF ./internal/build/
package build

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/release/refvals"
	"github.com/guestforge/guestforge/internal/snpmeasure"
)

// builtFirmware is the pipeline's OVMF, built once per test binary.
var builtFirmware struct {
	once sync.Once
	dir  string
	err  error
}

func firmwareDir(t *testing.T, p *Pipeline, ctx context.Context) string {
	t.Helper()
	builtFirmware.once.Do(func() {
		repo, err := p.LocalRepo(imagesRoot)
		if err != nil {
			builtFirmware.err = err
			return
		}
		fw, err := p.Firmware(ctx, repo, FirmwareSpec{Arch: bootArch})
		if err == nil {
			builtFirmware.dir, err = os.MkdirTemp(bootScratch, "firmware-")
		}
		if err == nil {
			_, err = fw.Dir.Export(ctx, builtFirmware.dir)
		}
		builtFirmware.dir = filepath.Join(builtFirmware.dir, bootArch.Name)
		builtFirmware.err = err
	})
	if builtFirmware.err != nil {
		t.Fatalf("build the firmware: %v", builtFirmware.err)
	}
	return builtFirmware.dir
}

// confidentialLaunch is Kata's launch of an initrd guest with the
// configuration reference values are computed for (refvals.Kata): its
// command line, checked to be the measured one byte for byte, and devices.
func confidentialLaunch(t *testing.T) *boot.Launch {
	t.Helper()
	cfg := kata.LaunchConfig{Arch: bootArch, ConfidentialGuest: true, BlockDeviceDriver: "virtio-scsi"}
	cmdline, err := kata.KernelCmdline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	measured, err := refvals.Kata().Cmdline(bootArch)
	if err != nil || measured != cmdline {
		t.Fatalf("the boot's command line %q is not the measured one %q (%v)", cmdline, measured, err)
	}
	qa, err := kata.QEMUDevices(cfg, kata.QEMUDeviceConfig{MemoryMiB: kataMemoryMiB})
	if err != nil {
		t.Fatal(err)
	}
	return &boot.Launch{Machine: strings.Join(append([]string{qa.MachineType}, qa.MachineOptions...), ","),
		Memory: qa.Memory, Devices: qa.Devices, Cmdline: cmdline}
}

// The TDX firmware (a TDVF) boots the kernel and initrd as a plain VM: TCG has
// no TD, and IntelTdx builds boot outside one too.
func TestOVMFIntelTdxBoot(t *testing.T) {
	p, ctx, kernel, release, dir := kataSetup(t)
	fw := filepath.Join(firmwareDir(t, p, ctx), artifact.FirmwareName(artifact.FirmwareIntelTdx))
	l := confidentialLaunch(t)
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Initrd: filepath.Join(dir, artifact.InitrdName("default")),
		Timeout: 6 * time.Minute, Log: bootConsole(t), Launch: l, ExtraArgs: []string{"-bios", fw}})
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, l.Cmdline, "init=agent", "kernel="+release, "console=hvc0")
}

// The SEV-SNP firmware refuses to boot a kernel without the SEV hashes table,
// and checks the command line and initrd against it. QEMU only fills the table
// for a SEV guest, so the test puts it where the firmware looks (its footer
// table's GPA) with QEMU's generic loader: the table snpmeasure measures, from
// the files booted. Its kernel entry is left out: without SEV, QEMU patches the
// kernel's setup header before handing it over, so the firmware hashes other
// bytes than the file (the firmware skips an absent entry). A command line
// one byte off must not boot.
func TestOVMFAmdSevBootChecksTheMeasuredHashes(t *testing.T) {
	p, ctx, kernel, release, dir := kataSetup(t)
	fw := filepath.Join(firmwareDir(t, p, ctx), artifact.FirmwareName(artifact.FirmwareAmdSev))
	initrdPath := filepath.Join(dir, artifact.InitrdName("default"))
	data, err := os.ReadFile(fw)
	if err != nil {
		t.Fatal(err)
	}
	f, err := snpmeasure.ParseFirmware(data)
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := os.ReadFile(initrdPath)
	if err != nil {
		t.Fatal(err)
	}
	l := confidentialLaunch(t)
	run := func(tableCmdline string, timeout time.Duration) (boot.Result, error) {
		table := snpmeasure.NewDirectBoot(k, initrd, tableCmdline).Table()
		// Entries follow the 18-byte header: command line, initrd, kernel, 50 bytes
		// each; an unknown GUID is skipped by the firmware.
		kernelEntry := table[18+2*50 : 18+2*50+16]
		for i := range kernelEntry {
			kernelEntry[i] = 0xff
		}
		path := filepath.Join(t.TempDir(), "sev-hashes.bin")
		if err := os.WriteFile(path, table, 0o644); err != nil {
			t.Fatal(err)
		}
		return boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Initrd: initrdPath, Timeout: timeout, Log: bootConsole(t), Launch: l,
			ExtraArgs: []string{"-bios", fw, "-device", "loader,file=" + path + ",addr=0x" + strconv.FormatUint(uint64(f.HashTableGPA), 16) + ",force-raw=on"}})
	}
	res, err := run(l.Cmdline, 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, l.Cmdline, "init=agent", "kernel="+release, "console=hvc0")
	// The same launch boots in res.Duration; give the tampered one twice that.
	if _, err := run(l.Cmdline+" ", 2*res.Duration+30*time.Second); err == nil {
		t.Fatal("the firmware booted a command line whose hash is not in the table")
	}
}
