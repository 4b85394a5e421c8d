package diskimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Byte offsets of struct nd_pfn_sb (Linux drivers/nvdimm/pfn.h), the info block the
// nvdimm driver reads at 4 KiB into a namespace to decide how to map it.
const (
	pfnSigOffset        = 0
	pfnUUIDOffset       = 16
	pfnParentUUIDOffset = 32
	pfnFlagsOffset      = 48
	pfnVersionMajor     = 52
	pfnVersionMinor     = 54
	pfnDataOffOffset    = 56
	pfnNPFNsOffset      = 64
	pfnModeOffset       = 72
	pfnStartPadOffset   = 76
	pfnEndTruncOffset   = 80
	pfnAlignOffset      = 84
	pfnChecksumOffset   = pfnInfoSize - 8
)

// pfnSignature is PFN_SIG with its terminating NUL, the 16 bytes the driver compares.
var pfnSignature = []byte("NVDIMM_PFN_INFO\x00")

// Modes of a pfn info block (enum nd_pfn_mode).
const (
	PFNModeNone = 0
	PFNModeRAM  = 1 // the page array lives in guest RAM: what Kata writes
	PFNModePMEM = 2
)

// pfnReserve is the minimum data offset of a RAM-mode namespace: the kernel keeps
// 8 KiB (MBR sector, info block) out of the mapping.
const pfnReserve = 8192

// DAXHeader is a decoded nd_pfn_sb.
type DAXHeader struct {
	UUID, ParentUUID           [16]byte
	Flags                      uint32
	VersionMajor, VersionMinor uint16
	// DataOffset is where the data /dev/pmem0 exposes begins, from the namespace
	// start: the byte offset of MBR #2.
	DataOffset uint64
	NPFNs      uint64
	Mode       uint32
	StartPad   uint32
	EndTrunc   uint32
	Align      uint32
	Checksum   uint64
}

// kataDAXHeader is the block Kata's nsdax tool writes: version 0.2 (the first minor
// with align), RAM mode, no uuids. The parent uuid must stay zero: the kernel compares
// it with the namespace's, and QEMU's label-less nvdimm is a raw namespace whose uuid
// is all zeros. npfns stays 0 as in Kata; in RAM mode the driver does not read it to
// size the mapping.
func kataDAXHeader() DAXHeader {
	return DAXHeader{VersionMinor: 2, Mode: PFNModeRAM, DataOffset: DAXHeaderSize, Align: DAXAlign}
}

// encode is the 4096-byte info block with its checksum; h.Checksum is ignored.
func (h DAXHeader) encode() []byte {
	b := make([]byte, pfnInfoSize)
	le := binary.LittleEndian
	copy(b[pfnSigOffset:], pfnSignature)
	copy(b[pfnUUIDOffset:], h.UUID[:])
	copy(b[pfnParentUUIDOffset:], h.ParentUUID[:])
	le.PutUint32(b[pfnFlagsOffset:], h.Flags)
	le.PutUint16(b[pfnVersionMajor:], h.VersionMajor)
	le.PutUint16(b[pfnVersionMinor:], h.VersionMinor)
	le.PutUint64(b[pfnDataOffOffset:], h.DataOffset)
	le.PutUint64(b[pfnNPFNsOffset:], h.NPFNs)
	le.PutUint32(b[pfnModeOffset:], h.Mode)
	le.PutUint32(b[pfnStartPadOffset:], h.StartPad)
	le.PutUint32(b[pfnEndTruncOffset:], h.EndTrunc)
	le.PutUint32(b[pfnAlignOffset:], h.Align)
	le.PutUint64(b[pfnChecksumOffset:], fletcher64(b))
	return b
}

// fletcher64 is the kernel's nd_fletcher64 over little-endian 32-bit words: a 32-bit
// running sum, and the 64-bit sum of the running sums, folded as hi<<32 | lo. The
// caller zeroes the checksum field first, as nd_sb_checksum does.
func fletcher64(b []byte) uint64 {
	var lo uint32
	var hi uint64
	for i := 0; i+4 <= len(b); i += 4 {
		lo += binary.LittleEndian.Uint32(b[i:])
		hi += uint64(lo)
	}
	return hi<<32 | uint64(lo)
}

// ReadDAX reads and validates the nd_pfn_sb at byte 4096 of r as the nvdimm driver
// does (nd_pfn_validate): signature, checksum, parent uuid, mode, and a data offset
// that is page aligned, past the reserved 8 KiB and a multiple of the alignment the
// kernel applies. It does not know r's size; compare DataOffset with the layout.
func ReadDAX(r io.ReaderAt) (DAXHeader, error) {
	b := make([]byte, pfnInfoSize)
	if _, err := r.ReadAt(b, pfnInfoOffset); err != nil {
		if errors.Is(err, io.EOF) {
			return DAXHeader{}, fmt.Errorf("no DAX header: the image ends before byte %d, where the nvdimm info block would end", pfnInfoOffset+pfnInfoSize)
		}
		return DAXHeader{}, fmt.Errorf("read the DAX header (bytes %d-%d): %w", pfnInfoOffset, pfnInfoOffset+pfnInfoSize, err)
	}
	if sig := b[:len(pfnSignature)]; !bytes.Equal(sig, pfnSignature) {
		return DAXHeader{}, fmt.Errorf("no DAX header: bytes %d-%d are %q, an nvdimm info block starts with %q (an image built with SkipDAXHeader has none)", pfnInfoOffset, pfnInfoOffset+len(pfnSignature), sig, pfnSignature)
	}
	le := binary.LittleEndian
	var h DAXHeader
	copy(h.UUID[:], b[pfnUUIDOffset:])
	copy(h.ParentUUID[:], b[pfnParentUUIDOffset:])
	h.Flags = le.Uint32(b[pfnFlagsOffset:])
	h.VersionMajor = le.Uint16(b[pfnVersionMajor:])
	h.VersionMinor = le.Uint16(b[pfnVersionMinor:])
	h.DataOffset = le.Uint64(b[pfnDataOffOffset:])
	h.NPFNs = le.Uint64(b[pfnNPFNsOffset:])
	h.Mode = le.Uint32(b[pfnModeOffset:])
	h.StartPad = le.Uint32(b[pfnStartPadOffset:])
	h.EndTrunc = le.Uint32(b[pfnEndTruncOffset:])
	h.Align = le.Uint32(b[pfnAlignOffset:])
	h.Checksum = le.Uint64(b[pfnChecksumOffset:])

	clear(b[pfnChecksumOffset:])
	if sum := fletcher64(b); sum != h.Checksum {
		return h, fmt.Errorf("DAX header at byte %d: checksum field is %#x but the block sums to %#x, the header is corrupt", pfnInfoOffset, h.Checksum, sum)
	}
	if h.ParentUUID != [16]byte{} {
		return h, fmt.Errorf("DAX header: parent uuid %x is not zero; the kernel matches it against the namespace uuid, which is zero for QEMU's label-less nvdimm", h.ParentUUID)
	}
	if h.Mode != PFNModeRAM && h.Mode != PFNModePMEM {
		return h, fmt.Errorf("DAX header: mode %d is neither RAM (%d) nor PMEM (%d), the kernel refuses it", h.Mode, PFNModeRAM, PFNModePMEM)
	}
	if h.DataOffset%BlockSize != 0 || h.DataOffset < pfnReserve {
		return h, fmt.Errorf("DAX header: data offset %d must be a multiple of %d and at least %d", h.DataOffset, BlockSize, pfnReserve)
	}
	align := uint64(h.Align)
	if h.VersionMinor < 2 {
		align = 0 // before minor 2 the field did not exist; the kernel ignores it
	}
	if align == 0 {
		align = 1 << (bits.Len64(h.DataOffset) - 1) // the kernel's fallback, the largest power of two in the offset
	}
	if (h.DataOffset+uint64(h.StartPad))%align != 0 {
		return h, fmt.Errorf("DAX header: data offset %d (start pad %d) is not a multiple of the alignment %d: the kernel disables DAX (\"bad offset\")", h.DataOffset, h.StartPad, align)
	}
	return h, nil
}
