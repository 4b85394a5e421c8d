package kata

import (
	"errors"
	"fmt"

	"github.com/guestforge/guestforge/internal/arch"
)

// LaunchConfig is the part of a Kata configuration.toml ([hypervisor.qemu] and
// [agent.kata]) that decides the guest's kernel command line and root device.
// The zero value of each field is Kata's shipped default, so a test states
// only what differs from a stock configuration-qemu.toml.
type LaunchConfig struct {
	Arch arch.Arch
	// Image says the guest boots a disk image (`image = ...`); false means an
	// initrd (`initrd = ...`). Kata refuses both at once.
	Image bool
	// RootfsType is `rootfs_type`; "" is ext4.
	RootfsType string
	// DisableImageNvdimm is `disable_image_nvdimm`: attach the image as
	// virtio-blk instead of an NVDIMM.
	DisableImageNvdimm bool
	// Verity is `kernel_verity_params` (nil: not measured).
	Verity *VerityParams
	// ConfidentialGuest is `confidential_guest`: Kata then forces virtio-blk
	// and drops nr_cpus.
	ConfidentialGuest bool
	// LegacySerial is `use_legacy_serial`: console on ttyS0 instead of hvc0.
	LegacySerial bool
	// Debug is the hypervisor's `enable_debug`: "debug" instead of "quiet".
	Debug bool
	// MaxVCPUs is `default_maxvcpus` as Kata resolves it (0 in the file means
	// the host's CPU count, which only the host knows, so pass the number).
	// Required unless ConfidentialGuest.
	MaxVCPUs uint32
	// GuestSELinux is `disable_guest_selinux = false` (Kata's default is true,
	// which prints selinux=0).
	GuestSELinux bool
	// BlockDeviceDriver is `block_device_driver`; "" is Kata's QEMU default,
	// virtio-scsi, which adds scsi_mod.scan=none.
	BlockDeviceDriver string
	// AgentDebug, AgentTrace and AgentDebugConsole are [agent.kata]
	// enable_debug, enable_tracing and debug_console_enabled.
	AgentDebug        bool
	AgentTrace        bool
	AgentDebugConsole bool
	// KernelParams is `kernel_params`, appended last so it wins.
	KernelParams string
}

// defaultBlockDeviceDriver is DEFBLOCKSTORAGEDRIVER_QEMU in Kata's
// src/runtime/Makefile.
const defaultBlockDeviceDriver = "virtio-scsi"

// Kata's systemd unit and the networkd units it masks (katautils/create.go
// systemdKernelParam, config-settings.go.in systemdUnitName): networking is
// the agent's job.
var systemdParams = []Param{
	{"systemd.unit", "kata-containers.target"},
	{"systemd.mask", "systemd-networkd.service"},
	{"systemd.mask", "systemd-networkd.socket"},
}

// nvdimm says whether Kata attaches the image as an NVDIMM for c, after the
// overrides of newQemuArch: confidential guests and s390x always use
// virtio-blk, ppc64le ignores disable_image_nvdimm.
func (c LaunchConfig) nvdimm(ra runtimeArch) bool {
	switch {
	case ra.alwaysVirtioBlk, c.ConfidentialGuest:
		return false
	case ra.honoursDisableNvdimm:
		return !c.DisableImageNvdimm
	default:
		return true
	}
}

// KernelCmdline returns the kernel command line Kata's Go runtime gives a
// QEMU guest configured by c. The order is Kata's, and it matters because the
// kernel (and systemd, and the agent) take the last value of a repeated key:
//
//  1. the arch's kernelParams (qemu_<arch>.go);
//  2. with an image, RootParams (qemu_arch_base.go handleImagePath, or
//     qemu_s390x.go newQemuArch), which runs when the arch is built;
//  3. console=hvc0 console=hvc1, or console=ttyS0 with legacy serial
//     (qemu_arch_base.go appendConsole, run later by qemu.go buildDevices;
//     s390x adds none);
//  4. quiet, or debug, plus systemd.show_status (and systemd.log_level in
//     debug) with an image (qemu_arch_base.go kernelParameters);
//  5. panic=1, nr_cpus unless confidential, selinux=0|1 (qemu.go
//     kernelParameters);
//  6. the hypervisor config's KernelParams as katautils/config.go
//     SetKernelParams built them: systemd.unit and systemd.mask with an image
//     (create.go needSystemd), scsi_mod.scan=none for virtio-scsi, the agent's
//     parameters (kata_agent.go KataAgentKernelParams), then the user's
//     kernel_params.
func KernelCmdline(c LaunchConfig) (string, error) {
	params, err := kernelParams(c)
	if err != nil {
		return "", err
	}
	return JoinParams(params), nil
}

func kernelParams(c LaunchConfig) ([]Param, error) {
	ra, err := lookupRuntimeArch(c.Arch)
	if err != nil {
		return nil, err
	}
	if !c.ConfidentialGuest && c.MaxVCPUs == 0 {
		return nil, errors.New("kata: LaunchConfig.MaxVCPUs is 0: Kata prints nr_cpus=<default_maxvcpus>, and resolves 0 to the host's CPU count; pass that number")
	}
	if !c.Image && c.Verity != nil {
		return nil, errors.New("kata: LaunchConfig.Verity is set for an initrd guest: Kata only reads kernel_verity_params for an image; set Image or drop Verity")
	}
	params := append([]Param(nil), ra.params...)
	if c.Image {
		nvdimm := c.nvdimm(ra)
		root, err := RootParams(c.RootfsType, !nvdimm, nvdimm && ra.dax, c.Verity)
		if err != nil {
			return nil, err
		}
		params = append(params, root...)
	}
	if ra.consoleParams {
		if c.LegacySerial && ra.legacySerial {
			params = append(params, Param{"console", "ttyS0"})
		} else {
			params = append(params, Param{"console", "hvc0"}, Param{"console", "hvc1"})
		}
	}
	if c.Debug {
		params = append(params, Param{"debug", ""})
		if c.Image {
			params = append(params, Param{"systemd.show_status", "true"}, Param{"systemd.log_level", "debug"})
		}
	} else {
		params = append(params, Param{"quiet", ""})
		if c.Image {
			params = append(params, Param{"systemd.show_status", "false"})
		}
	}
	params = append(params, Param{"panic", "1"})
	if !c.ConfidentialGuest {
		params = append(params, Param{"nr_cpus", fmt.Sprint(c.MaxVCPUs)})
	}
	if c.GuestSELinux {
		params = append(params, Param{"selinux", "1"})
	} else {
		params = append(params, Param{"selinux", "0"})
	}
	if c.Image {
		params = append(params, systemdParams...)
	}
	driver := c.BlockDeviceDriver
	if driver == "" {
		driver = defaultBlockDeviceDriver
	}
	if driver == defaultBlockDeviceDriver {
		params = append(params, Param{"scsi_mod.scan", "none"})
	}
	if c.AgentDebug {
		params = append(params, Param{"agent.log", "debug"})
	}
	if c.AgentTrace {
		params = append(params, Param{"agent.trace", "true"})
	}
	if c.AgentDebugConsole {
		params = append(params, Param{"agent.debug_console", ""}, Param{"agent.debug_console_vport", "1026"})
	}
	for _, p := range SplitParams(c.KernelParams) {
		// Kata's HypervisorConfig.AddKernelParam refuses a parameter without
		// a key, so the runtime would not start this guest at all.
		if p.Key == "" {
			return nil, fmt.Errorf("kata: kernel_params %q holds %q, a parameter with no name before '=': remove it", c.KernelParams, p.String())
		}
		params = append(params, p)
	}
	return params, nil
}
