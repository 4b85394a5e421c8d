//go:build boot

// Launch conformance: guests launched exactly as Kata's Go runtime launches them
// (internal/kata: the kernel command line of KernelCmdline, the root device and
// console of QEMUDevices, for a stock configuration-qemu.toml), under QEMU TCG,
// each to the boot probe's line, which reports what the guest saw: console, root
// device, filesystem, DAX and the systemd unit. The probe stands in as kata-agent.
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags boot -run TestKata ./internal/build/
package build

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/testenv"
)

// kataMemoryMiB is the guest RAM under TCG (Kata ships 2048; the probe needs less).
const kataMemoryMiB = 1024

// kataImages are the x86_64 images in Kata's layout with verity, built once.
var kataImages struct {
	once sync.Once
	dir  string
	err  error
}

func kataArtifacts(t *testing.T, p *Pipeline, ctx context.Context, repo *Repo) string {
	t.Helper()
	kataImages.once.Do(func() {
		d, err := p.All(ctx, repo, MatrixSpec{Arches: []string{"x86_64"}, NoKernel: true, FS: FSExt4, Verity: true,
			AsOf: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			kataImages.err = err
			return
		}
		// Outlive the first test's TempDir: every test here boots these files.
		keep, err := os.MkdirTemp(bootScratch, "kata-images-")
		if err == nil {
			_, err = d.Export(ctx, keep)
		}
		kataImages.dir, kataImages.err = filepath.Join(keep, "x86_64"), err
	})
	if kataImages.err != nil {
		t.Fatalf("build the x86_64 images: %v", kataImages.err)
	}
	return kataImages.dir
}

// kataBoot boots kernel with initrd or image as Kata's runtime would for cfg.
func kataBoot(t *testing.T, ctx context.Context, kernel, initrdPath, image string, cfg kata.LaunchConfig, timeout time.Duration) (boot.Result, string, error) {
	t.Helper()
	cfg.Arch, cfg.MaxVCPUs = bootArch, 1
	cfg.Image = image != ""
	cmdline, err := kata.KernelCmdline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dev := kata.QEMUDeviceConfig{Image: image, MemoryMiB: kataMemoryMiB}
	if image != "" {
		st, err := os.Stat(image)
		if err != nil {
			t.Fatal(err)
		}
		dev.ImageSize = st.Size()
		dev.MaxMemoryMiB = kataMemoryMiB + uint64(st.Size()>>20) + 128
	}
	qa, err := kata.QEMUDevices(cfg, dev)
	if err != nil {
		t.Fatal(err)
	}
	machine := strings.Join(append([]string{qa.MachineType}, qa.MachineOptions...), ",")
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Initrd: initrdPath, Timeout: timeout, Log: bootConsole(t),
		Launch: &boot.Launch{Machine: machine, Memory: qa.Memory, Devices: qa.Devices, Cmdline: cmdline}})
	return res, cmdline, err
}

// wantFacts fails the test unless the probe line holds every key=value of want.
func wantFacts(t *testing.T, line, cmdline string, want ...string) {
	t.Helper()
	t.Logf("probe: %s", line)
	fields := map[string]bool{}
	for _, f := range strings.Fields(line) {
		fields[f] = true
	}
	for _, w := range want {
		if !fields[w] {
			t.Errorf("probe line %q lacks %s\nkernel command line (Kata's): %s", line, w, cmdline)
		}
	}
}

func kataSetup(t *testing.T) (*Pipeline, context.Context, string, string, string) {
	t.Helper()
	testenv.RequireTool(t, bootArch.QEMUSystem)
	p, ctx := imagePipeline(t, 50*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	kernel, release := bootKernel(t, p, ctx, repo)
	return p, ctx, kernel, release, kataArtifacts(t, p, ctx, repo)
}

// (a) initrd, agent as init, console on hvc0 (virtio-console).
func TestKataBootInitrd(t *testing.T) {
	_, ctx, kernel, release, dir := kataSetup(t)
	res, cmdline, err := kataBoot(t, ctx, kernel, filepath.Join(dir, artifact.InitrdName("default")), "", kata.LaunchConfig{}, 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, cmdline, "init=agent", "kernel="+release, "console=hvc0", "root=rootfs")
}

// (b) the agent-init image on virtio-blk: root=/dev/vda1.
func TestKataBootAgentImageVirtioBlk(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	res, cmdline, err := kataBoot(t, ctx, kernel, "", filepath.Join(dir, artifact.RootfsImageName("default")),
		kata.LaunchConfig{DisableImageNvdimm: true}, 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, cmdline, "init=agent", "console=hvc0", "root=vda1", "fstype=ext4", "dax=0")
}

// (c) the systemd image on virtio-blk with Kata's systemd parameters: the probe
// runs as kata-agent.service under kata-containers.target.
func TestKataBootSystemdImage(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	res, cmdline, err := kataBoot(t, ctx, kernel, "", filepath.Join(dir, artifact.RootfsImageName("systemd")),
		kata.LaunchConfig{DisableImageNvdimm: true}, 8*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmdline, "systemd.unit=kata-containers.target") {
		t.Fatalf("Kata's command line for an image lacks its systemd unit: %s", cmdline)
	}
	wantFacts(t, res.Line, cmdline, "init=systemd", "root=vda1", "fstype=ext4", "unit=kata-agent.service")
}

// (d) the measured rootfs: dm-verity from kernel_verity_params, p1 data, p2 hash.
func TestKataBootMeasuredRootfs(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	v := readVerityParams(t, filepath.Join(dir, artifact.VerityParamsName("default")))
	res, cmdline, err := kataBoot(t, ctx, kernel, "", filepath.Join(dir, artifact.RootfsImageName("default")),
		kata.LaunchConfig{DisableImageNvdimm: true, Verity: v}, 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, cmdline, "init=agent", "root=dm-0", "fstype=ext4")
}

// (e) the image on nvdimm with DAX, Kata's default for x86_64: the guest reads
// the table behind the DAX header through /dev/pmem0 and mounts p1 with dax.
func TestKataBootNvdimmDAX(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	res, cmdline, err := kataBoot(t, ctx, kernel, "", filepath.Join(dir, artifact.RootfsImageName("default")), kata.LaunchConfig{}, 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wantFacts(t, res.Line, cmdline, "init=agent", "root=pmem0p1", "fstype=ext4", "dax=1")
}

// A measured image whose p2 entry points one hash block too far: Kata's dm-verity table
// then reads a wrong hash tree, the root cannot be read, and the guest never
// reaches the agent. The harness names the failure from the console.
func TestKataBootWrongHashPartitionFails(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	v := readVerityParams(t, filepath.Join(dir, artifact.VerityParamsName("default")))
	bad := filepath.Join(t.TempDir(), "shifted-p2.img")
	copyFile(t, filepath.Join(dir, artifact.RootfsImageName("default")), bad)
	f, err := os.OpenFile(bad, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// MBR #1 entry 2 (bytes 462-477): its start LBA at +8; virtio-blk reads this table.
	entry := make([]byte, 16)
	if _, err := f.ReadAt(entry, 446+16); err != nil {
		t.Fatal(err)
	}
	// One hash block (8 sectors) later, the same size: the table still fits, and
	// every hash dm-verity reads is the wrong one.
	binary.LittleEndian.PutUint32(entry[8:], binary.LittleEndian.Uint32(entry[8:])+8)
	if _, err := f.WriteAt(entry, 446+16); err != nil {
		t.Fatal(err)
	}
	f.Close()
	parts, _ := readParts(t, bad)
	good, _ := readParts(t, filepath.Join(dir, artifact.RootfsImageName("default")))
	if parts[1].Start != good[1].Start+4096 {
		t.Fatalf("p2 at %d, want it moved from %d", parts[1].Start, good[1].Start)
	}
	_, _, err = kataBoot(t, ctx, kernel, "", bad, kata.LaunchConfig{DisableImageNvdimm: true, Verity: v}, 4*time.Minute)
	if err == nil {
		t.Fatal("a measured image with p2 in the wrong place booted to the agent")
	}
	// dm-verity itself must be what refused: the table loaded, and reading the root
	// through it found the hash tree wrong.
	if msg := err.Error(); !strings.Contains(msg, "is corrupted") {
		t.Fatalf("the failure is not dm-verity finding the hash tree corrupted:\n%v", err)
	}
}

// The systemd image booted with a unit name other than Kata's: systemd says the
// unit does not exist, which is what a guest built with another name shows when
// Kata's runtime asks for kata-containers.target.
func TestKataBootWrongUnitNameFails(t *testing.T) {
	_, ctx, kernel, _, dir := kataSetup(t)
	cfg := kata.LaunchConfig{DisableImageNvdimm: true, KernelParams: "systemd.unit=guestforge.target"}
	cfg.Arch, cfg.MaxVCPUs, cfg.Image = bootArch, 1, true
	image := filepath.Join(dir, artifact.RootfsImageName("systemd"))
	cmdline, err := kata.KernelCmdline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(image)
	qa, err := kata.QEMUDevices(cfg, kata.QEMUDeviceConfig{Image: image, ImageSize: st.Size(), MemoryMiB: kataMemoryMiB})
	if err != nil {
		t.Fatal(err)
	}
	res, err := boot.Run(ctx, boot.Config{Arch: bootArch, Kernel: kernel, Timeout: 6 * time.Minute, Log: bootConsole(t),
		Marker: "guestforge.target not found",
		Launch: &boot.Launch{Machine: strings.Join(append([]string{qa.MachineType}, qa.MachineOptions...), ","), Memory: qa.Memory, Devices: qa.Devices, Cmdline: cmdline}})
	if err != nil {
		t.Fatalf("systemd did not report the missing unit: %v", err)
	}
	if strings.Contains(res.Console, boot.OKMarker) {
		t.Fatalf("the agent started although the requested unit does not exist:\n%s", res.Console)
	}
}

func readVerityParams(t *testing.T, file string) *kata.VerityParams {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kata.ParseVerityParams(strings.TrimSpace(string(text)))
	if err != nil || v == nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

func readParts(t *testing.T, img string) ([]diskimage.Partition, error) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parts, err := diskimage.ReadPartitions(f)
	if err != nil || len(parts) != 2 {
		t.Fatalf("%s: partitions %v: %v", img, parts, err)
	}
	return parts, nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
