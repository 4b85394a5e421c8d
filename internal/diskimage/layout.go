package diskimage

import (
	"fmt"
	"math"
)

// Sizes of Kata's layout, in bytes.
const (
	SectorSize = 512
	MiB        = 1 << 20

	// BlockSize is the filesystem and dm-verity data block size: p1 must be whole
	// blocks, or the verity table's data_blocks would not cover it.
	BlockSize = 4096

	// PartitionStart is where p1 begins, counted from the table that describes it
	// (Kata's rootfs_start).
	PartitionStart = 1 * MiB

	// DAXHeaderSize is the nvdimm header in front of the namespace data: MBR #1,
	// the pfn info block, padding up to the data offset (Kata's dax_header_sz).
	DAXHeaderSize = 2 * MiB

	// DAXAlign is the mapping alignment recorded in the pfn info block: 2 MiB, the
	// huge page size DAX maps with (Kata's dax_alignment).
	DAXAlign = 2 * MiB

	// DefaultAlignment is Kata's IMAGE_SIZE_ALIGNMENT_MB default. The runtime plugs
	// the image in as an nvdimm, which QEMU maps as a DIMM in guest physical memory;
	// a DIMM hotplugged later sits right above it, and the guest kernel refuses a
	// hotplugged block that does not start on its 128 MiB memory section boundary
	// (QEMU only checks 2 MiB). Kata hit this on arm64 (commit 2b0d5b2) and made
	// every image a multiple of 128 MiB so the next DIMM's start is aligned.
	DefaultAlignment = 128 * MiB

	// pfnInfoOffset is where the nvdimm driver reads the info block: 4 KiB into the
	// namespace, leaving sector 0 to the partition table.
	pfnInfoOffset = 4096
	pfnInfoSize   = 4096

	// maxImageSize is what an msdos table addresses: 2^32 sectors of 512 bytes.
	maxImageSize = (math.MaxUint32 + 1) * SectorSize
)

// Spec is what a layout is planned from.
type Spec struct {
	// FilesystemSize is the size in bytes of the filesystem image that becomes p1:
	// positive, whole 4096-byte blocks.
	FilesystemSize int64
	// HashTreeSize is the size in bytes of the dm-verity hash tree (made with
	// --no-superblock) that becomes p2: 0 for an image without verity, else whole
	// 512-byte sectors.
	HashTreeSize int64
	// SkipDAXHeader leaves out the 2 MiB nvdimm header, as Kata's SKIP_DAX_HEADER=yes.
	SkipDAXHeader bool
	// Alignment is what the total size is rounded up to, a multiple of 1 MiB;
	// 0 means DefaultAlignment.
	Alignment int64
	// DiskID is the msdos disk identifier, written to both tables. Derive it from
	// content: it must be the same on every build of the same inputs.
	DiskID uint32
}

// Extent is a byte range of the image.
type Extent struct {
	Offset int64
	Size   int64
}

// End is the first byte after the extent.
func (e Extent) End() int64 { return e.Offset + e.Size }

// Layout is where every part of an image goes, in bytes from the start of the image.
// Make one with Plan; Write refuses any other.
type Layout struct {
	// Spec is the input, with Alignment's default filled in.
	Spec Spec
	// DAXHeader is the nvdimm header, {0, 2 MiB}; zero without one.
	DAXHeader Extent
	// PFNInfo is the nd_pfn_sb inside the header, {4096, 4096}; zero without one.
	PFNInfo Extent
	// MBR1 is the table in sector 0, read by everything that sees the whole disk.
	MBR1 Extent
	// MBR2 is the table at the start of the namespace data, read through
	// /dev/pmem0; zero without a DAX header.
	MBR2 Extent
	// Filesystem is p1, HashTree p2 (zero when there is no hash tree).
	Filesystem Extent
	HashTree   Extent
	// Size is the total image size, a multiple of Spec.Alignment.
	Size int64
}

// Plan places a filesystem and an optional hash tree in Kata's layout.
func Plan(s Spec) (Layout, error) {
	if s.FilesystemSize <= 0 {
		return Layout{}, fmt.Errorf("filesystem size %d: must be positive, the byte size of the p1 image", s.FilesystemSize)
	}
	if s.FilesystemSize%BlockSize != 0 {
		return Layout{}, fmt.Errorf("filesystem size %d is not a multiple of %d: make the filesystem with %d-byte blocks and a size in whole blocks", s.FilesystemSize, BlockSize, BlockSize)
	}
	if s.HashTreeSize < 0 {
		return Layout{}, fmt.Errorf("hash tree size %d: must be 0 (no verity) or the byte size of the hash tree", s.HashTreeSize)
	}
	if s.HashTreeSize%SectorSize != 0 {
		return Layout{}, fmt.Errorf("hash tree size %d is not a multiple of %d: a partition holds whole sectors; use a hash block size of 512 to 4096", s.HashTreeSize, SectorSize)
	}
	if s.Alignment == 0 {
		s.Alignment = DefaultAlignment
	}
	if s.Alignment < 0 || s.Alignment%MiB != 0 {
		return Layout{}, fmt.Errorf("alignment %d: must be a positive multiple of 1 MiB (%d), or 0 for the default %d", s.Alignment, MiB, DefaultAlignment)
	}
	// Checked one by one before any sum, so the sums below cannot overflow int64.
	for _, v := range []struct {
		what string
		n    int64
	}{{"filesystem", s.FilesystemSize}, {"hash tree", s.HashTreeSize}, {"alignment", s.Alignment}} {
		if v.n > maxImageSize {
			return Layout{}, tooLarge(v.what+" size", v.n)
		}
	}

	l := Layout{Spec: s, MBR1: Extent{0, SectorSize}}
	base := int64(0)
	if !s.SkipDAXHeader {
		base = DAXHeaderSize
		l.DAXHeader = Extent{0, DAXHeaderSize}
		l.PFNInfo = Extent{pfnInfoOffset, pfnInfoSize}
		l.MBR2 = Extent{base, SectorSize}
	}
	l.Filesystem = Extent{base + PartitionStart, s.FilesystemSize}
	end := l.Filesystem.End()
	if s.HashTreeSize > 0 {
		l.HashTree = Extent{alignUp(end, MiB), s.HashTreeSize}
		end = l.HashTree.End()
	}
	l.Size = alignUp(end, s.Alignment)
	if l.Size > maxImageSize {
		return Layout{}, tooLarge("image", l.Size)
	}
	return l, nil
}

func tooLarge(what string, n int64) error {
	return fmt.Errorf("%s of %d bytes is beyond what an msdos partition table addresses (%d bytes, 2^32 sectors of %d): use a smaller rootfs", what, n, int64(maxImageSize), SectorSize)
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// PartitionType is the msdos type of both partitions: Linux.
const PartitionType = 0x83

// Partitions are the entries of the table at byte offset table of the image (0 for
// MBR #1, l.MBR2.Offset for MBR #2), with Start counted from that table, as a
// reader of that disk sees them.
func (l Layout) Partitions(table int64) []Partition {
	verity := l.HashTree.Size > 0
	ps := []Partition{{Number: 1, Bootable: verity, Type: PartitionType,
		Start: l.Filesystem.Offset - table, Size: l.Filesystem.Size}}
	if verity {
		ps = append(ps, Partition{Number: 2, Type: PartitionType,
			Start: l.HashTree.Offset - table, Size: l.HashTree.Size})
	}
	return ps
}
