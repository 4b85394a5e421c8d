package tdxmeasure

import (
	"encoding/binary"
	"fmt"
)

const (
	pageSize = 4096

	// MaxFirmwareSize caps the TDVF image. edk2 builds are 2 or 4 MiB; the
	// cap keeps a wrong file (a disk image passed as --ovmf) from being read.
	MaxFirmwareSize = 64 << 20

	// maxSections and maxPages bound what the metadata may ask for, so a
	// damaged or hostile firmware cannot make MRTD loop for hours. edk2
	// declares 6 sections and about 2,100 pages.
	maxSections = 64
	maxPages    = 1 << 18 // 1 GiB of guest memory

	footerEntryHeader = 2 + 16 // u16 size, then the GUID
	// The footer entry ends 32 bytes before the end of the image: the reset
	// vector and its padding follow it (ResetVectorVtf0.asm).
	footerEndFromImageEnd = 32

	descriptorSize = 16 // "TDVF", u32 length, u32 version, u32 count
	sectionSize    = 32 // u32 DataOffset, u32 RawDataSize, u64 MemoryAddress, u64 MemoryDataSize, u32 Type, u32 Attributes
)

// SectionType is the kind of a TDVF section (TDX Virtual Firmware Design
// Guide, table "TDVF_SECTION.Type"; edk2 OvmfPkg/ResetVector/X64/
// IntelTdxMetadata.asm).
type SectionType uint32

// The four types QEMU accepts (hw/i386/tdvf.c refuses any other): the two
// firmware volumes it copies from the image, and two zero-filled ranges.
const (
	SectionBFV     SectionType = 0 // boot firmware volume: the code, measured into MRTD
	SectionCFV     SectionType = 1 // configuration volume (UEFI variables), measured by TDVF into RTMR0
	SectionTDHOB   SectionType = 2 // the hand-off block QEMU writes the memory map into
	SectionTempMem SectionType = 3 // early stacks and heap
)

func (t SectionType) String() string {
	switch t {
	case SectionBFV:
		return "BFV"
	case SectionCFV:
		return "CFV"
	case SectionTDHOB:
		return "TD_HOB"
	case SectionTempMem:
		return "TempMem"
	}
	return fmt.Sprintf("unknown(%d)", uint32(t))
}

// AttrMRExtend marks a section whose bytes the VMM extends into MRTD
// (TDVF_SECTION_ATTRIBUTES_MR_EXTEND). The other defined bit, PAGE_AUG
// (0x2), means "add it after launch"; QEMU does not implement it, so a
// firmware that sets it is refused rather than measured one way or the other.
const AttrMRExtend uint32 = 1

// Section is one entry of the TDVF descriptor.
type Section struct {
	DataOffset, RawDataSize       uint32 // where its bytes are in the image
	MemoryAddress, MemoryDataSize uint64 // where it goes in the TD
	Type                          SectionType
	Attributes                    uint32
}

// Measured says whether the VMM extends the section's bytes into MRTD.
func (s Section) Measured() bool { return s.Attributes&AttrMRExtend != 0 }

func (s Section) String() string {
	return fmt.Sprintf("%s at %#x, %#x bytes", s.Type, s.MemoryAddress, s.MemoryDataSize)
}

// Firmware is a TDVF image with its TDX metadata.
type Firmware struct {
	data     []byte
	Sections []Section // in metadata order, which is the order QEMU adds them
}

// Size is the image size in bytes.
func (f *Firmware) Size() int { return len(f.data) }

// FirmwareError says what is wrong with a TDVF image.
type FirmwareError struct {
	Reason string
}

func (e *FirmwareError) Error() string {
	return "TDVF image: " + e.Reason + ": pass the OVMF.fd of an edk2 build with TDX support " +
		"(OvmfPkg/IntelTdx/IntelTdxX64.dsc, or an OvmfPkgX64.dsc build that carries the TDX metadata), whole and unmodified"
}

func bad(format string, args ...any) error {
	return &FirmwareError{Reason: fmt.Sprintf(format, args...)}
}

// ParseFirmware reads the footer table and the TDX metadata of a TDVF image.
// It keeps data (it does not copy it) and refuses what QEMU would refuse, and
// also anything it would have to guess about: sections outside the image,
// overlapping sections, a measured section only partly backed by file bytes.
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
	entry, err := metadataOffsetEntry(data)
	if err != nil {
		return nil, err
	}
	if len(entry) < 4 {
		return nil, bad("the TDX metadata offset entry holds %d bytes, want 4", len(entry))
	}
	// The u32 counts back from the end of the image to the descriptor.
	back := uint64(binary.LittleEndian.Uint32(entry))
	if back < descriptorSize || back > uint64(n) {
		return nil, bad("the TDX metadata offset %#x from the end is outside the %d-byte image", back, n)
	}
	at := uint64(n) - back
	d := data[at:]
	if string(d[:4]) != "TDVF" {
		return nil, bad("no \"TDVF\" signature at the TDX metadata offset %#x from the end (found %q)", back, d[:4])
	}
	length := binary.LittleEndian.Uint32(d[4:])
	version := binary.LittleEndian.Uint32(d[8:])
	count := binary.LittleEndian.Uint32(d[12:])
	if version != 1 {
		return nil, bad("TDVF descriptor version %d; only version 1 is defined", version)
	}
	// QEMU needs at least a BFV and a TD HOB.
	if count < 2 || count > maxSections {
		return nil, bad("the TDVF descriptor declares %d sections; 2 to %d are accepted", count, maxSections)
	}
	if want := descriptorSize + count*sectionSize; length != want {
		return nil, bad("the TDVF descriptor claims %d bytes; %d sections take %d", length, count, want)
	}
	if uint64(length) > uint64(len(d)) {
		return nil, bad("the TDVF descriptor's %d bytes run past the end of the image", length)
	}
	f := &Firmware{data: data, Sections: make([]Section, count)}
	pages := uint64(0)
	for i := range f.Sections {
		e := d[descriptorSize+i*sectionSize:]
		s := Section{
			DataOffset:     binary.LittleEndian.Uint32(e),
			RawDataSize:    binary.LittleEndian.Uint32(e[4:]),
			MemoryAddress:  binary.LittleEndian.Uint64(e[8:]),
			MemoryDataSize: binary.LittleEndian.Uint64(e[16:]),
			Type:           SectionType(binary.LittleEndian.Uint32(e[24:])),
			Attributes:     binary.LittleEndian.Uint32(e[28:]),
		}
		if err := checkSection(i, s, n); err != nil {
			return nil, err
		}
		pages += s.MemoryDataSize / pageSize
		if pages > maxPages {
			return nil, bad("the TDVF sections cover more than %d pages (%d GiB)", maxPages, maxPages*pageSize>>30)
		}
		for j, o := range f.Sections[:i] {
			if s.MemoryAddress < o.MemoryAddress+o.MemoryDataSize && o.MemoryAddress < s.MemoryAddress+s.MemoryDataSize {
				return nil, bad("TDVF section %d (%s) overlaps section %d (%s)", i, s, j, o)
			}
		}
		f.Sections[i] = s
	}
	return f, nil
}

// checkSection applies QEMU's checks (tdvf_parse_and_check_section_entry)
// and the ones MRTD needs to be computed without guessing.
func checkSection(i int, s Section, imageSize int) error {
	switch {
	case s.Type > SectionTempMem:
		return bad("TDVF section %d has type %d; QEMU accepts only BFV, CFV, TD_HOB and TempMem (0 to 3)", i, uint32(s.Type))
	case s.Attributes&^AttrMRExtend != 0:
		return bad("TDVF section %d (%s) has attributes %#x; only MR_EXTEND (0x1) is supported (QEMU does not implement PAGE_AUG)", i, s, s.Attributes)
	case s.MemoryAddress%pageSize != 0 || s.MemoryDataSize%pageSize != 0 || s.MemoryDataSize == 0:
		return bad("TDVF section %d (%s) is not whole, aligned pages", i, s)
	case s.MemoryAddress+s.MemoryDataSize < s.MemoryAddress || s.MemoryAddress+s.MemoryDataSize > 1<<52:
		return bad("TDVF section %d (%s) runs past the 52-bit guest address space", i, s)
	case uint64(s.RawDataSize) > s.MemoryDataSize:
		return bad("TDVF section %d (%s) has %#x bytes of data, more than its memory", i, s, s.RawDataSize)
	}
	fromImage := s.Type == SectionBFV || s.Type == SectionCFV
	switch {
	case fromImage && s.RawDataSize == 0:
		return bad("TDVF section %d (%s) has no data in the image", i, s)
	case !fromImage && s.RawDataSize != 0:
		return bad("TDVF section %d (%s) claims %#x bytes of image data; QEMU zero-fills this type", i, s, s.RawDataSize)
	case !fromImage && s.Measured():
		return bad("TDVF section %d (%s) is marked MR_EXTEND but has no image data to measure", i, s)
	case uint64(s.DataOffset)+uint64(s.RawDataSize) > uint64(imageSize):
		return bad("TDVF section %d (%s) takes image bytes %#x to %#x, but the image is only %d bytes (a cut or partial file)",
			i, s, s.DataOffset, uint64(s.DataOffset)+uint64(s.RawDataSize), imageSize)
	case s.Measured() && uint64(s.RawDataSize) != s.MemoryDataSize:
		// QEMU would measure image bytes past RawDataSize; edk2 never builds
		// such a section, so it is refused instead of measured by a guess.
		return bad("TDVF section %d (%s) is measured but only %#x of its bytes are image data", i, s, s.RawDataSize)
	}
	return nil
}

// metadataOffsetEntry finds the TDX metadata offset entry in edk2's GUIDed
// footer table. The table grows backwards from its own entry near the end of
// the image; each entry is its data, a u16 size counting the data and the
// 18-byte header, then its GUID.
func metadataOffsetEntry(data []byte) ([]byte, error) {
	footerAt := len(data) - footerEndFromImageEnd - footerEntryHeader
	if footerAt < 0 {
		return nil, bad("%d bytes is too short to hold the footer table", len(data))
	}
	var g guid
	copy(g[:], data[footerAt+2:footerAt+footerEntryHeader])
	if g != guidFooterTable {
		return nil, bad("no footer table GUID %s %d bytes before the end (found %s): "+
			"this is not an OVMF/TDVF image", guidFooterTable, footerEndFromImageEnd+16, g)
	}
	size := int(binary.LittleEndian.Uint16(data[footerAt:]))
	if size < footerEntryHeader || size-footerEntryHeader > footerAt {
		return nil, bad("the footer table claims %d bytes, which does not fit before it", size)
	}
	rest := data[footerAt-(size-footerEntryHeader) : footerAt]
	var found []byte
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
		if eg == guidTDXMetadataOff {
			if found != nil {
				return nil, bad("the footer table has two TDX metadata offset entries")
			}
			found = rest[len(rest)-es : len(rest)-footerEntryHeader]
		}
		rest = rest[:len(rest)-es]
	}
	if found == nil {
		return nil, bad("the footer table has no TDX metadata offset entry (GUID %s): this firmware was built "+
			"without TDX support and cannot launch a TD", guidTDXMetadataOff)
	}
	return found, nil
}
