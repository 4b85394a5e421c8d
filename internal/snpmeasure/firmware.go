package snpmeasure

import (
	"encoding/binary"
	"fmt"
)

const (
	pageSize = 4096

	// fourGiB is where the firmware image ends in guest physical memory: QEMU
	// maps the OVMF file just below 4 GiB, so its first byte is at 4 GiB minus
	// its size.
	fourGiB = 1 << 32

	// MaxFirmwareSize caps the OVMF image. Real builds are 1, 2 or 4 MiB; the
	// cap only keeps a wrong file (a disk image passed as --ovmf) from being
	// read and hashed page by page.
	MaxFirmwareSize = 64 << 20

	// maxMetadataSections and maxMeasuredPages bound what the SEV metadata
	// may ask for, so that a damaged or hostile firmware cannot make the
	// digest loop for hours. edk2 declares 7 sections and about 100 pages.
	maxMetadataSections = 64
	maxMeasuredPages    = 1 << 18 // 1 GiB of guest memory

	footerEntryHeader = 2 + 16 // u16 size, then the GUID
	// The footer entry ends 32 bytes before the end of the image: the
	// reset vector and its padding come after it (ResetVectorVtf0.asm).
	footerEndFromImageEnd = 32

	metadataHeaderSize = 16 // "ASEV", u32 size, u32 version, u32 items
	metadataItemSize   = 12 // u32 gpa, u32 size, u32 type
)

// SectionType is the kind of an SEV metadata section
// (OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm).
type SectionType uint32

const (
	SectionSecMem       SectionType = 1    // pre-validated memory: measured as zero pages
	SectionSecrets      SectionType = 2    // the SNP secrets page, filled by the PSP
	SectionCPUID        SectionType = 3    // the CPUID page, filled by the PSP
	SectionSVSMCAA      SectionType = 4    // the SVSM calling area: zero pages
	SectionKernelHashes SectionType = 0x10 // the page holding QEMU's SEV hashes table
)

func (t SectionType) String() string {
	switch t {
	case SectionSecMem:
		return "SEC_MEM"
	case SectionSecrets:
		return "SECRETS"
	case SectionCPUID:
		return "CPUID"
	case SectionSVSMCAA:
		return "SVSM_CAA"
	case SectionKernelHashes:
		return "KERNEL_HASHES"
	}
	return fmt.Sprintf("unknown(%#x)", uint32(t))
}

// Section is one entry of the firmware's SEV metadata: a guest-physical range
// the VMM must add to the launch before the VMSAs.
type Section struct {
	GPA  uint32
	Size uint32
	Type SectionType
}

// Firmware is an OVMF image with the parts of its footer table the launch
// measurement depends on.
type Firmware struct {
	data []byte

	// ResetEIP is where application processors start (the SEV-ES reset
	// block); zero when the firmware has none, which is fine for one vCPU.
	ResetEIP uint32
	// HashTableGPA and HashTableSize locate the SEV hashes table QEMU fills
	// for measured direct boot; zero when the firmware cannot measure a
	// kernel (OvmfPkgX64 builds leave the entry zero).
	HashTableGPA, HashTableSize uint32
	// Sections are the SEV metadata sections in firmware order; empty when
	// the firmware has no SEV metadata (then SNP cannot launch it).
	Sections []Section
}

// FirmwareError says what is wrong with an OVMF image.
type FirmwareError struct {
	Reason string
}

func (e *FirmwareError) Error() string {
	return "OVMF image: " + e.Reason + ": pass the OVMF.fd an edk2 build of OvmfPkg/AmdSev/AmdSevX64.dsc " +
		"(or OvmfPkgX64.dsc without measured direct boot) wrote, unmodified"
}

func bad(format string, args ...any) error {
	return &FirmwareError{Reason: fmt.Sprintf(format, args...)}
}

// GPA is the guest-physical address of the image's first byte.
func (f *Firmware) GPA() uint64 { return fourGiB - uint64(len(f.data)) }

// Size is the image size in bytes.
func (f *Firmware) Size() int { return len(f.data) }

// HasSection says whether the SEV metadata declares a section of type t.
func (f *Firmware) HasSection(t SectionType) bool {
	for _, s := range f.Sections {
		if s.Type == t {
			return true
		}
	}
	return false
}

// ParseFirmware reads the footer table and the SEV metadata of an OVMF image.
// It keeps data (it does not copy it) and refuses anything it would have to
// guess about: a size that is not whole pages, entries that overrun the
// table, metadata outside the image, sections that are not page-aligned.
func ParseFirmware(data []byte) (*Firmware, error) {
	n := len(data)
	switch {
	case n == 0:
		return nil, bad("the file is empty")
	case n > MaxFirmwareSize:
		return nil, bad("%d bytes is over the %d MiB limit for firmware", n, MaxFirmwareSize>>20)
	case n%pageSize != 0:
		return nil, bad("%d bytes is not a whole number of 4 KiB pages", n)
	}
	table, err := footerTable(data)
	if err != nil {
		return nil, err
	}
	f := &Firmware{data: data}
	if e, ok := table[guidSEVESReset]; ok {
		if len(e) < 4 {
			return nil, bad("the SEV-ES reset block entry holds %d bytes, want at least 4", len(e))
		}
		f.ResetEIP = binary.LittleEndian.Uint32(e)
	}
	if e, ok := table[guidSEVHashTable]; ok {
		if len(e) < 8 {
			return nil, bad("the SEV hash table entry holds %d bytes, want at least 8", len(e))
		}
		f.HashTableGPA = binary.LittleEndian.Uint32(e)
		f.HashTableSize = binary.LittleEndian.Uint32(e[4:])
	}
	if e, ok := table[guidSEVMetadata]; ok {
		if f.Sections, err = sevMetadata(data, e); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// footerTable reads edk2's GUIDed table, which grows backwards from its
// footer entry near the end of the image: each entry is its data, then a
// u16 size that counts the data and the 18-byte header, then its GUID.
func footerTable(data []byte) (map[guid][]byte, error) {
	footerAt := len(data) - footerEndFromImageEnd - footerEntryHeader
	if footerAt < 0 {
		return nil, bad("%d bytes is too short to hold the footer table", len(data))
	}
	var g guid
	copy(g[:], data[footerAt+2:footerAt+footerEntryHeader])
	if g != guidFooterTable {
		return nil, bad("no footer table GUID %s %d bytes before the end (found %s): "+
			"this is not an OVMF image built with SEV support", guidFooterTable, footerEndFromImageEnd+16, g)
	}
	size := int(binary.LittleEndian.Uint16(data[footerAt:]))
	if size < footerEntryHeader || size-footerEntryHeader > footerAt {
		return nil, bad("the footer table claims %d bytes, which does not fit before it", size)
	}
	rest := data[footerAt-(size-footerEntryHeader) : footerAt]
	table := map[guid][]byte{}
	for len(rest) > 0 {
		if len(rest) < footerEntryHeader {
			return nil, bad("the footer table ends in %d stray bytes", len(rest))
		}
		h := rest[len(rest)-footerEntryHeader:]
		var eg guid
		copy(eg[:], h[2:])
		es := int(binary.LittleEndian.Uint16(h))
		if es < footerEntryHeader || es > len(rest) {
			return nil, bad("footer table entry %s claims %d bytes; %d remain in the table", eg, es, len(rest))
		}
		if _, dup := table[eg]; dup {
			return nil, bad("footer table entry %s appears twice", eg)
		}
		table[eg] = rest[len(rest)-es : len(rest)-footerEntryHeader]
		rest = rest[:len(rest)-es]
	}
	return table, nil
}

// sevMetadata reads the "ASEV" descriptor the metadata entry points at: its
// u32 is the descriptor's offset from the end of the image.
func sevMetadata(data, entry []byte) ([]Section, error) {
	if len(entry) < 4 {
		return nil, bad("the SEV metadata entry holds %d bytes, want at least 4", len(entry))
	}
	off := uint64(binary.LittleEndian.Uint32(entry))
	if off > uint64(len(data)) || off < metadataHeaderSize {
		return nil, bad("the SEV metadata offset %#x from the end is outside the %d-byte image", off, len(data))
	}
	d := data[uint64(len(data))-off:]
	if string(d[:4]) != "ASEV" {
		return nil, bad("no \"ASEV\" signature at the SEV metadata offset %#x from the end (found %q)", off, d[:4])
	}
	size := binary.LittleEndian.Uint32(d[4:])
	version := binary.LittleEndian.Uint32(d[8:])
	count := binary.LittleEndian.Uint32(d[12:])
	if version != 1 {
		return nil, bad("SEV metadata version %d; only version 1 is defined", version)
	}
	if count > maxMetadataSections {
		return nil, bad("SEV metadata declares %d sections; at most %d are accepted", count, maxMetadataSections)
	}
	need := uint64(metadataHeaderSize) + uint64(count)*metadataItemSize
	if uint64(size) < need || uint64(size) > uint64(len(d)) {
		return nil, bad("SEV metadata claims %d bytes for %d sections (%d needed, %d left in the image)",
			size, count, need, len(d))
	}
	sections := make([]Section, count)
	pages := uint64(0)
	for i := range sections {
		item := d[metadataHeaderSize+i*metadataItemSize:]
		s := Section{
			GPA:  binary.LittleEndian.Uint32(item),
			Size: binary.LittleEndian.Uint32(item[4:]),
			Type: SectionType(binary.LittleEndian.Uint32(item[8:])),
		}
		if err := checkSection(i, s); err != nil {
			return nil, err
		}
		pages += uint64(s.Size) / pageSize
		if pages > maxMeasuredPages {
			return nil, bad("SEV metadata sections cover more than %d pages", maxMeasuredPages)
		}
		sections[i] = s
	}
	return sections, nil
}

func checkSection(i int, s Section) error {
	switch s.Type {
	case SectionSecMem, SectionSecrets, SectionCPUID, SectionSVSMCAA, SectionKernelHashes:
	default:
		return bad("SEV metadata section %d has unknown type %#x", i, uint32(s.Type))
	}
	if s.GPA%pageSize != 0 || s.Size == 0 || s.Size%pageSize != 0 {
		return bad("SEV metadata section %d (%s at %#x, %#x bytes) is not whole, aligned pages", i, s.Type, s.GPA, s.Size)
	}
	if uint64(s.GPA)+uint64(s.Size) > fourGiB {
		return bad("SEV metadata section %d (%s at %#x, %#x bytes) runs past 4 GiB", i, s.Type, s.GPA, s.Size)
	}
	return nil
}
