package snpmeasure

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// VMM is the hypervisor that launches the guest. They set a few reset
// registers differently, and those land in the measured VMSA.
type VMM int

const (
	QEMU VMM = iota // QEMU/KVM, Kata's hypervisor for SNP
	EC2             // AWS EC2's SNP instances
	GCE             // Google Compute Engine's SNP instances
)

var vmmNames = []string{QEMU: "qemu", EC2: "ec2", GCE: "gce"}

func (v VMM) String() string {
	if int(v) < len(vmmNames) {
		return vmmNames[v]
	}
	return fmt.Sprintf("VMM(%d)", int(v))
}

// ParseVMM reads a VMM name as the CLI spells it.
func ParseVMM(s string) (VMM, error) {
	for i, n := range vmmNames {
		if strings.EqualFold(s, n) {
			return VMM(i), nil
		}
	}
	return 0, fmt.Errorf("unknown VMM type %q: pass one of %s", s, strings.Join(vmmNames, ", "))
}

// bspEIP is the reset vector: the boot processor starts at 0xFFFFFFF0, the
// application processors where the firmware's SEV-ES reset block says.
const bspEIP = 0xFFFFFFF0

// Offsets into the VMSA (struct sev_es_save_area in Linux; AMD APM vol. 2,
// table B-4). Only the fields a VMM initialises are listed.
const (
	vmsaES          = 0x00
	vmsaCS          = 0x10
	vmsaSS          = 0x20
	vmsaDS          = 0x30
	vmsaFS          = 0x40
	vmsaGS          = 0x50
	vmsaGDTR        = 0x60
	vmsaLDTR        = 0x70
	vmsaIDTR        = 0x80
	vmsaTR          = 0x90
	vmsaEFER        = 0xD0
	vmsaCR4         = 0x148
	vmsaCR0         = 0x158
	vmsaDR7         = 0x160
	vmsaDR6         = 0x168
	vmsaRFLAGS      = 0x170
	vmsaRIP         = 0x178
	vmsaGPAT        = 0x268
	vmsaRDX         = 0x310
	vmsaSEVFeatures = 0x3B0
	vmsaXCR0        = 0x3E8
	vmsaMXCSR       = 0x408
	vmsaX87FCW      = 0x410
)

// resetState is what differs between VMMs in the initial register state.
type resetState struct {
	csAttr, ssAttr, trAttr uint16
	rdx                    uint64
	mxcsr                  uint32
	fcw                    uint16
	gpat                   uint64
}

// The PAT MSR's power-on value (AMD APM vol. 2, A.3).
const defaultGPAT = 0x0007040600070406

func reset(vmm VMM, eip uint32, cpuSig uint32) resetState {
	switch vmm {
	case EC2:
		// EC2 reports family 6 in RDX whatever the host, leaves the FPU
		// control registers at zero and clears the accessed bits.
		cs := uint16(0x9B)
		if eip == bspEIP {
			cs = 0x9A
		}
		return resetState{csAttr: cs, ssAttr: 0x92, trAttr: 0x83, rdx: 0x600, gpat: defaultGPAT}
	case GCE:
		return resetState{csAttr: 0x9B, ssAttr: 0x93, trAttr: 0x8B, rdx: 0x600, gpat: 0x00070106}
	default:
		// QEMU with KVM_SEV_INIT2 (Linux 6.10 and later) sets MXCSR and the
		// x87 control word to their reset values; RDX carries the CPUID
		// signature of the -cpu model.
		return resetState{csAttr: 0x9B, ssAttr: 0x93, trAttr: 0x8B, rdx: uint64(cpuSig),
			mxcsr: 0x1F80, fcw: 0x37F, gpat: defaultGPAT}
	}
}

// vmsaPage is the initial save area of one vCPU starting at eip in real mode:
// CS's base holds eip's upper half, RIP its lower half.
func vmsaPage(eip uint32, features uint64, cpuSig uint32, vmm VMM) []byte {
	r := reset(vmm, eip, cpuSig)
	p := make([]byte, pageSize)
	le := binary.LittleEndian
	seg := func(at int, selector, attr uint16, limit uint32, base uint64) {
		le.PutUint16(p[at:], selector)
		le.PutUint16(p[at+2:], attr)
		le.PutUint32(p[at+4:], limit)
		le.PutUint64(p[at+8:], base)
	}
	for _, at := range []int{vmsaES, vmsaDS, vmsaFS, vmsaGS} {
		seg(at, 0, 0x93, 0xFFFF, 0)
	}
	seg(vmsaCS, 0xF000, r.csAttr, 0xFFFF, uint64(eip&0xFFFF0000))
	seg(vmsaSS, 0, r.ssAttr, 0xFFFF, 0)
	seg(vmsaGDTR, 0, 0, 0xFFFF, 0)
	seg(vmsaIDTR, 0, 0, 0xFFFF, 0)
	seg(vmsaLDTR, 0, 0x82, 0xFFFF, 0)
	seg(vmsaTR, 0, r.trAttr, 0xFFFF, 0)
	le.PutUint64(p[vmsaEFER:], 0x1000) // EFER.SVME: KVM sets it for SEV-ES guests
	le.PutUint64(p[vmsaCR4:], 0x40)    // CR4.MCE
	le.PutUint64(p[vmsaCR0:], 0x10)    // CR0.ET
	le.PutUint64(p[vmsaDR7:], 0x400)
	le.PutUint64(p[vmsaDR6:], 0xFFFF0FF0)
	le.PutUint64(p[vmsaRFLAGS:], 0x2)
	le.PutUint64(p[vmsaRIP:], uint64(eip&0xFFFF))
	le.PutUint64(p[vmsaGPAT:], r.gpat)
	le.PutUint64(p[vmsaRDX:], r.rdx)
	le.PutUint64(p[vmsaSEVFeatures:], features)
	le.PutUint64(p[vmsaXCR0:], 0x1)
	le.PutUint32(p[vmsaMXCSR:], r.mxcsr)
	le.PutUint16(p[vmsaX87FCW:], r.fcw)
	return p
}
