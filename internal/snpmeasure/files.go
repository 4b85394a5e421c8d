package snpmeasure

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// Caps on the direct-boot inputs. A Kata guest kernel is 5 to 60 MiB and its
// initrd tens of MiB; anything near these is the wrong file.
const (
	MaxKernelSize  = 256 << 20
	MaxInitrdSize  = 1 << 30
	MaxCmdlineSize = 64 << 10 // far above any x86 COMMAND_LINE_SIZE
)

// Files names the inputs of one SNP launch as the CLI takes them.
type Files struct {
	OVMF           string // path of the OVMF image
	Kernel, Initrd string // paths; empty for none (Initrd needs Kernel)
	Append         string // the kernel command line; needs Kernel
	VCPUs          int
	VCPUType       string // a QEMU -cpu model; needed for qemu, ignored by ec2 and gce
	GuestFeatures  uint64
	VMM            string // qemu, ec2 or gce; empty means qemu
}

// SNPFiles reads the files (each under its cap) and returns the SEV-SNP
// launch digest in lowercase hex, as sev-snp-measure prints it.
func SNPFiles(in Files) (string, error) {
	vmm := QEMU
	if in.VMM != "" {
		var err error
		if vmm, err = ParseVMM(in.VMM); err != nil {
			return "", err
		}
	}
	l := Launch{VCPUs: in.VCPUs, GuestFeatures: in.GuestFeatures, VMM: vmm}
	switch {
	case in.VCPUType != "":
		sig, err := ParseCPUType(in.VCPUType)
		if err != nil {
			return "", err
		}
		l.CPUSignature = sig
	case vmm == QEMU:
		return "", errors.New("no vCPU type: QEMU measures its CPU signature; pass the -cpu model the guest runs with (--vcpu-type EPYC-Milan, EPYC-Genoa, ...)")
	}
	if in.Kernel == "" && (in.Initrd != "" || in.Append != "") {
		return "", errors.New("an initrd or command line without a kernel is not measured: pass --kernel too, or neither")
	}
	if len(in.Append) > MaxCmdlineSize {
		return "", fmt.Errorf("the command line is %d bytes; the limit is %d", len(in.Append), MaxCmdlineSize)
	}
	data, err := boundedio.ReadFileLimit(in.OVMF, MaxFirmwareSize, "firmware")
	if err != nil {
		return "", err
	}
	if l.Firmware, err = ParseFirmware(data); err != nil {
		return "", fmt.Errorf("%s: %w", in.OVMF, err)
	}
	if in.Kernel != "" {
		if l.Boot, err = readBoot(in); err != nil {
			return "", err
		}
	}
	d, err := SNP(l)
	if err != nil {
		return "", fmt.Errorf("%s: %w", in.OVMF, err)
	}
	return hex.EncodeToString(d[:]), nil
}

func readBoot(in Files) (*DirectBoot, error) {
	kernel, err := boundedio.ReadFileLimit(in.Kernel, MaxKernelSize, "a kernel")
	if err != nil {
		return nil, err
	}
	var initrd []byte
	if in.Initrd != "" {
		if initrd, err = boundedio.ReadFileLimit(in.Initrd, MaxInitrdSize, "an initrd"); err != nil {
			return nil, err
		}
	}
	return NewDirectBoot(kernel, initrd, in.Append), nil
}
