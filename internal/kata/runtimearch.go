package kata

import (
	"fmt"

	"github.com/guestforge/guestforge/internal/arch"
)

// runtimeArch is what Kata's Go runtime does differently per architecture
// (src/runtime/virtcontainers/qemu_<arch>.go newQemuArch). Kata's facts are
// keyed by our canonical arch name, so internal/arch stays the one table of
// architectures and this is only Kata's column of it.
type runtimeArch struct {
	// params is the arch's package-level kernelParams list.
	params []Param
	// dax is qemuArchBase.dax: only x86_64 maps the NVDIMM image with DAX
	// (arm64 turns it off for a kernel panic in cache maintenance; ppc64le
	// never sets it).
	dax bool
	// honoursDisableNvdimm: ppc64le ignores disable_image_nvdimm (its
	// newQemuArch never copies it), so only a confidential guest moves its
	// image to virtio-blk.
	honoursDisableNvdimm bool
	// alwaysVirtioBlk: s390x has no NVDIMM; its image is a virtio-blk-ccw disk.
	alwaysVirtioBlk bool
	// consoleParams: s390x's appendConsole adds devices but no console=
	// parameter (the guest finds its console by itself).
	consoleParams bool
	// legacySerial: s390x forces use_legacy_serial off.
	legacySerial bool
	// machineType and machineOptions are Kata's defaults; accel=kvm is among
	// the options, which QEMUDevices leaves out (see there).
	machineType    string
	machineOptions string
	// blockDevice and serialDevice are govmm's device names for the arch's
	// virtio transport (PCI everywhere but s390x, which is CCW).
	blockDevice  string
	serialDevice string
}

var runtimeArches = map[string]runtimeArch{
	"x86_64": {
		params: []Param{
			{"tsc", "reliable"}, {"no_timer_check", ""}, {"rcupdate.rcu_expedited", "1"},
			{"i8042.direct", "1"}, {"i8042.dumbkbd", "1"}, {"i8042.nopnp", "1"}, {"i8042.noaux", "1"},
			{"noreplace-smp", ""}, {"reboot", "k"}, {"cryptomgr.notests", ""},
			{"net.ifnames", "0"}, {"pci", "lastbus=0"},
		},
		dax: true, honoursDisableNvdimm: true, consoleParams: true, legacySerial: true,
		machineType: "q35", machineOptions: "accel=kvm",
		blockDevice: "virtio-blk-pci", serialDevice: "virtio-serial-pci",
	},
	"aarch64": {
		params:               []Param{{"iommu.passthrough", "0"}},
		honoursDisableNvdimm: true, consoleParams: true, legacySerial: true,
		machineType: "virt", machineOptions: "usb=off,accel=kvm,gic-version=host",
		blockDevice: "virtio-blk-pci", serialDevice: "virtio-serial-pci",
	},
	"s390x": {
		alwaysVirtioBlk: true,
		machineType:     "s390-ccw-virtio", machineOptions: "accel=kvm",
		blockDevice: "virtio-blk-ccw", serialDevice: "virtio-serial-ccw",
	},
	"ppc64le": {
		params: []Param{
			{"rcupdate.rcu_expedited", "1"}, {"reboot", "k"}, {"cryptomgr.notests", ""}, {"net.ifnames", "0"},
		},
		consoleParams: true, legacySerial: true,
		machineType: "pseries", machineOptions: "accel=kvm,usb=off,cap-ail-mode-3=off",
		blockDevice: "virtio-blk-pci", serialDevice: "virtio-serial-pci",
	},
}

func lookupRuntimeArch(a arch.Arch) (runtimeArch, error) {
	ra, ok := runtimeArches[a.Name]
	if !ok {
		return runtimeArch{}, fmt.Errorf("kata: LaunchConfig.Arch %q is not set or not an architecture Kata's QEMU runtime supports: use arch.Parse", a.Name)
	}
	return ra, nil
}
