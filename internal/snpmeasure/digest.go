package snpmeasure

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
)

// MaxVCPUs is KVM's limit on x86-64 (KVM_MAX_VCPUS); more is a typo.
const MaxVCPUs = 4096

// Launch is one guest launch to measure.
type Launch struct {
	Firmware *Firmware
	// Boot is the measured direct boot (kernel, initrd, command line); nil
	// for a firmware-only launch, where the hashes page is measured as zero.
	Boot *DirectBoot
	// VCPUs is the number of vCPUs at launch; each adds one VMSA page.
	VCPUs int
	// CPUSignature is what QEMU puts in RDX (ParseCPUType); EC2 and GCE
	// ignore it.
	CPUSignature uint32
	// GuestFeatures is SEV_FEATURES in every VMSA: bit 0 SNPActive, bit 5
	// DebugSwap (KVM on Linux 6.6 and later sets it unless debug_swap=0).
	// SEV-ES ignores it: its VMSAs carry none.
	GuestFeatures uint64
	VMM           VMM
	// OVMFHash, when set, is the launch digest after the firmware pages,
	// computed before (OVMFHash); the firmware's pages are then not hashed
	// again, only its metadata is read.
	OVMFHash *[sha512.Size384]byte
}

// ErrNoKernelHashes is returned when a direct boot is measured with a
// firmware that cannot take the SEV hashes table.
var ErrNoKernelHashes = errors.New("a kernel was given but the OVMF image has no place for the SEV hashes table " +
	"(no SNP KERNEL_HASHES metadata section or SEV hash table entry): measured direct boot needs the " +
	"OvmfPkg/AmdSev/AmdSevX64.dsc build of edk2-stable202405 or later; drop --kernel/--initrd/--append to " +
	"measure a firmware-only launch")

func (l *Launch) check(snp bool) error {
	if l.Firmware == nil {
		return errors.New("no OVMF image to measure")
	}
	if l.VCPUs < 1 || l.VCPUs > MaxVCPUs {
		return fmt.Errorf("%d vCPUs: pass between 1 and %d", l.VCPUs, MaxVCPUs)
	}
	if l.VCPUs > 1 && l.Firmware.ResetEIP == 0 {
		return &FirmwareError{Reason: fmt.Sprintf("no SEV-ES reset block, so %d vCPUs cannot start: "+
			"only one vCPU can be measured with it", l.VCPUs)}
	}
	if l.VMM < QEMU || l.VMM > GCE {
		return fmt.Errorf("unknown VMM %d", int(l.VMM))
	}
	if l.Boot != nil {
		if l.Firmware.HashTableGPA == 0 || (snp && !l.Firmware.HasSection(SectionKernelHashes)) {
			return ErrNoKernelHashes
		}
		for _, s := range l.Firmware.Sections {
			if s.Type == SectionKernelHashes && s.Size != pageSize {
				return &FirmwareError{Reason: fmt.Sprintf("the KERNEL_HASHES section at %#x is %#x bytes; "+
					"QEMU fills exactly one page", s.GPA, s.Size)}
			}
		}
		if off := l.Firmware.HashTableGPA % pageSize; off+hashTableSize > pageSize {
			return &FirmwareError{Reason: fmt.Sprintf("the SEV hash table at %#x does not fit in its page",
				l.Firmware.HashTableGPA)}
		}
	}
	if snp && len(l.Firmware.Sections) == 0 {
		return &FirmwareError{Reason: "no SEV metadata, so SEV-SNP cannot launch it"}
	}
	return nil
}

// OVMFHash is the SNP launch digest after the firmware's own pages: a value
// that stays the same for any kernel, vCPU count and VMM, which some
// attestation setups pin on its own.
func OVMFHash(f *Firmware) [sha512.Size384]byte {
	var ld launchDigest
	ld.addNormal(f.GPA(), f.data)
	return ld
}

// SNP is the SEV-SNP launch digest, the MEASUREMENT field of the guest's
// attestation report.
func SNP(l Launch) ([sha512.Size384]byte, error) {
	if err := l.check(true); err != nil {
		return [sha512.Size384]byte{}, err
	}
	var ld launchDigest
	if l.OVMFHash != nil {
		ld = *l.OVMFHash
	} else {
		ld.addNormal(l.Firmware.GPA(), l.Firmware.data)
	}
	for _, s := range l.Firmware.Sections {
		ld.addSection(s, &l)
	}
	if l.VMM == EC2 {
		// EC2 adds the CPUID pages last, after every other section.
		for _, s := range l.Firmware.Sections {
			if s.Type == SectionCPUID {
				ld.add(pageCPUID, uint64(s.GPA), nil)
			}
		}
	}
	for i := range l.VCPUs {
		sum := sha512.Sum384(l.vmsa(i, l.GuestFeatures))
		ld.add(pageVMSA, vmsaGPA, &sum)
	}
	return ld, nil
}

// addSection measures one SEV metadata section the way the VMM hands it to
// SNP_LAUNCH_UPDATE.
func (ld *launchDigest) addSection(s Section, l *Launch) {
	gpa := uint64(s.GPA)
	switch s.Type {
	case SectionSecMem:
		if l.VMM == GCE {
			ld.addEach(pageUnmeasured, gpa, s.Size)
		} else {
			ld.addEach(pageZero, gpa, s.Size)
		}
	case SectionSecrets:
		// One page whatever the section size: the PSP writes one secrets page.
		ld.add(pageSecrets, gpa, nil)
	case SectionCPUID:
		if l.VMM != EC2 {
			ld.add(pageCPUID, gpa, nil)
		}
	case SectionSVSMCAA:
		ld.addEach(pageZero, gpa, s.Size)
	case SectionKernelHashes:
		if l.Boot == nil {
			ld.addEach(pageZero, gpa, s.Size)
			return
		}
		// QEMU copies the table into the first page of the section, at the
		// table's offset within its page, and measures that page as data.
		page := make([]byte, pageSize)
		copy(page[l.Firmware.HashTableGPA%pageSize:], l.Boot.Table())
		ld.addNormal(gpa, page)
	}
}

// vmsa is the save area of vCPU i: the boot processor starts at the reset
// vector, the others at the firmware's AP entry point.
func (l *Launch) vmsa(i int, features uint64) []byte {
	eip := uint32(bspEIP)
	if i > 0 {
		eip = l.Firmware.ResetEIP
	}
	return vmsaPage(eip, features, l.CPUSignature, l.VMM)
}

// SEVES is the SEV-ES launch digest: SHA-256 over the firmware, the SEV
// hashes table when a kernel is measured, and the VMSA of every vCPU (with
// no SEV features).
func SEVES(l Launch) ([sha256.Size]byte, error) {
	if err := l.check(false); err != nil {
		return [sha256.Size]byte{}, err
	}
	h := sha256.New()
	h.Write(l.Firmware.data)
	if l.Boot != nil {
		h.Write(l.Boot.Table())
	}
	for i := range l.VCPUs {
		h.Write(l.vmsa(i, 0))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, nil
}

// SEV is the plain SEV launch digest: SHA-256 over the firmware and, when a
// kernel is measured, the SEV hashes table. vCPUs are not measured.
func SEV(f *Firmware, boot *DirectBoot) ([sha256.Size]byte, error) {
	if f == nil {
		return [sha256.Size]byte{}, errors.New("no OVMF image to measure")
	}
	h := sha256.New()
	h.Write(f.data)
	if boot != nil {
		if f.HashTableGPA == 0 {
			return [sha256.Size]byte{}, ErrNoKernelHashes
		}
		h.Write(boot.Table())
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, nil
}
