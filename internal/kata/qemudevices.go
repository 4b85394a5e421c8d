package kata

import (
	"errors"
	"fmt"
	"strings"
)

// QEMUDeviceConfig is what QEMUDevices needs besides the LaunchConfig: the
// host-side facts Kata's runtime looks up itself (the image's size, its
// console socket, the host's memory).
type QEMUDeviceConfig struct {
	// Image is the disk image's path (required when LaunchConfig.Image).
	Image string
	// ImageSize is the image's size in bytes: the NVDIMM backend maps exactly
	// the file (Kata stats it in appendNvdimmImage).
	ImageSize int64
	// ConsoleSocket is the unix socket Kata serves the console on. Empty means
	// the QEMU process's stdio, which is what a boot test reads; QEMU lets
	// only one chardev own stdio, so the caller then runs with
	// `-display none` instead of `-nographic` (whose serial and monitor also
	// claim stdio).
	ConsoleSocket string
	// MemoryMiB is default_memory (Kata ships 2048).
	MemoryMiB uint64
	// MaxMemoryMiB is maxmem. Kata passes the host's RAM; an NVDIMM lives
	// in the hotplug region above MemoryMiB, so it must be at least
	// MemoryMiB plus the image. Needed only for an NVDIMM image.
	MaxMemoryMiB uint64
	// MemorySlots is default_memslots (Kata ships 10); 0 means 10.
	MemorySlots uint
}

// QEMUArgs is the root device and console part of Kata's QEMU command line,
// split so a harness can merge it with its own arguments.
type QEMUArgs struct {
	// MachineType and MachineOptions form -machine type,opt,opt. The options
	// are Kata's minus the ones that need KVM (accel=kvm, and aarch64's
	// gic-version=host, whose TCG stand-in is QEMU's default GIC); the
	// caller adds its own accelerator (-accel tcg).
	MachineType    string
	MachineOptions []string
	// Memory is the -m value: "<MiB>M", plus ",slots=N,maxmem=<MiB>M" when
	// an NVDIMM needs hotplug memory (Kata always passes them outside
	// confidential guests; they matter here only for the NVDIMM).
	Memory string
	// Devices are the -device/-object/-drive/-chardev/-serial arguments, in
	// the order Kata's buildDevices adds them: console first, then the image.
	Devices []string
}

// Device identifiers, as Kata names them (qemu_arch_base.go appendConsole,
// appendNvdimmImage), except the image drive: Kata names it "image-" plus 8
// random bytes in hex (genericImage); a boot test needs a stable command line,
// so it is fixed here. The guest does not see the name except as the disk's
// serial.
const (
	serialID      = "serial0"
	consoleID     = "console0"
	consoleCharID = "charconsole0"
	nvdimmID      = "nv0"
	nvdimmMemID   = "mem0"
	imageDriveID  = "image-guestforge"
	defaultSlots  = 10
	mib           = 1 << 20
)

// kvmOnlyMachineOptions are the Kata machine options that fail without KVM.
var kvmOnlyMachineOptions = map[string]bool{"accel=kvm": true, "gic-version=host": true}

// QEMUDevices returns the QEMU arguments Kata's runtime uses for c's root
// device and console, rendered as govmm renders them
// (src/runtime/pkg/govmm/qemu/qemu.go: Object, BlockDevice, SerialDevice,
// CharDevice, LegacySerialDevice QemuParams):
//
//   - NVDIMM image: -device nvdimm,id=nv0,memdev=mem0,unarmed=on and
//     -object memory-backend-file,id=mem0,mem-path=<image>,size=<bytes>,readonly=on,
//     plus nvdimm=on on the machine and slots/maxmem on -m;
//   - virtio-blk image: -device virtio-blk-<transport>,drive=<id>,config-wce=off,share-rw=on,serial=<id>
//     and -drive id=<id>,file=<image>,aio=threads,format=raw,if=none,readonly=on;
//   - console: virtio-serial-<transport> (id serial0) and a virtconsole on
//     chardev charconsole0, or with legacy serial -serial chardev:charconsole0.
//
// s390x differs from Kata in one way: Kata gives each CCW device an explicit
// devno from its bridge bookkeeping; QEMU assigns the same kind of number by
// itself, so devno is left out.
func QEMUDevices(c LaunchConfig, d QEMUDeviceConfig) (QEMUArgs, error) {
	ra, err := lookupRuntimeArch(c.Arch)
	if err != nil {
		return QEMUArgs{}, err
	}
	if d.MemoryMiB == 0 {
		return QEMUArgs{}, errors.New("kata: QEMUDeviceConfig.MemoryMiB is 0: pass default_memory (Kata ships 2048)")
	}
	out := QEMUArgs{MachineType: ra.machineType, Memory: fmt.Sprintf("%dM", d.MemoryMiB)}
	for _, opt := range strings.Split(ra.machineOptions, ",") {
		if opt != "" && !kvmOnlyMachineOptions[opt] {
			out.MachineOptions = append(out.MachineOptions, opt)
		}
	}
	out.Devices = consoleArgs(c, ra, d.ConsoleSocket)
	if !c.Image {
		return out, nil
	}
	if d.Image == "" {
		return QEMUArgs{}, errors.New("kata: QEMUDeviceConfig.Image is empty but LaunchConfig.Image is set: pass the disk image's path")
	}
	if strings.Contains(d.Image, ",") {
		// QEMU would split the option at the comma.
		return QEMUArgs{}, fmt.Errorf("kata: image path %q contains a comma, which QEMU reads as an option separator: move the image to a path without one", d.Image)
	}
	if !c.nvdimm(ra) {
		out.Devices = append(out.Devices,
			"-device", strings.Join([]string{ra.blockDevice, "drive=" + imageDriveID, "config-wce=off", "share-rw=on", "serial=" + imageDriveID}, ","),
			"-drive", strings.Join([]string{"id=" + imageDriveID, "file=" + d.Image, "aio=threads", "format=raw", "if=none", "readonly=on"}, ","),
		)
		return out, nil
	}
	if d.ImageSize <= 0 {
		return QEMUArgs{}, fmt.Errorf("kata: QEMUDeviceConfig.ImageSize is %d: pass the size in bytes of %s (the NVDIMM maps the whole file)", d.ImageSize, d.Image)
	}
	imageMiB := (uint64(d.ImageSize) + mib - 1) / mib
	if d.MaxMemoryMiB < d.MemoryMiB+imageMiB {
		return QEMUArgs{}, fmt.Errorf("kata: QEMUDeviceConfig.MaxMemoryMiB is %d but the NVDIMM image needs at least MemoryMiB + %d = %d: raise MaxMemoryMiB (Kata uses the host's RAM)",
			d.MaxMemoryMiB, imageMiB, d.MemoryMiB+imageMiB)
	}
	slots := d.MemorySlots
	if slots == 0 {
		slots = defaultSlots
	}
	out.MachineOptions = append(out.MachineOptions, "nvdimm=on")
	out.Memory = fmt.Sprintf("%dM,slots=%d,maxmem=%dM", d.MemoryMiB, slots, d.MaxMemoryMiB)
	out.Devices = append(out.Devices,
		"-device", strings.Join([]string{"nvdimm", "id=" + nvdimmID, "memdev=" + nvdimmMemID, "unarmed=on"}, ","),
		"-object", strings.Join([]string{"memory-backend-file", "id=" + nvdimmMemID, "mem-path=" + d.Image, fmt.Sprintf("size=%d", d.ImageSize), "readonly=on"}, ","),
	)
	return out, nil
}

func consoleArgs(c LaunchConfig, ra runtimeArch, socket string) []string {
	chardev := "stdio,id=" + consoleCharID
	if socket != "" {
		chardev = "socket,id=" + consoleCharID + ",path=" + socket + ",server=on,wait=off"
	}
	if c.LegacySerial && ra.legacySerial {
		return []string{"-serial", "chardev:" + consoleCharID, "-chardev", chardev}
	}
	return []string{
		"-device", ra.serialDevice + ",id=" + serialID,
		"-device", "virtconsole,chardev=" + consoleCharID + ",id=" + consoleID,
		"-chardev", chardev,
	}
}
