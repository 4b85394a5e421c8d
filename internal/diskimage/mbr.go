package diskimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Byte layout of a classic MBR: boot code, the disk identifier, four 16-byte
// partition entries, the 0x55 0xAA signature.
const (
	mbrDiskIDOffset = 440
	mbrEntryOffset  = 446
	mbrEntrySize    = 16
	mbrEntries      = 4
	mbrSigOffset    = 510

	statusBootable = 0x80
)

// Partition is one msdos partition table entry.
type Partition struct {
	// Number is the entry's slot, 1 to 4: partition n is /dev/vdaN.
	Number   int
	Bootable bool
	Type     byte
	// Start and Size are in bytes, from the start of the disk the table is on.
	Start int64
	Size  int64
}

// End is the first byte after the partition.
func (p Partition) End() int64 { return p.Start + p.Size }

// encodeMBR is the 512-byte table listing parts.
func encodeMBR(diskID uint32, parts []Partition) ([]byte, error) {
	b := make([]byte, SectorSize)
	binary.LittleEndian.PutUint32(b[mbrDiskIDOffset:], diskID)
	for _, p := range parts {
		if p.Number < 1 || p.Number > mbrEntries {
			return nil, fmt.Errorf("partition number %d: an msdos table has entries 1 to %d", p.Number, mbrEntries)
		}
		if p.Start <= 0 || p.Size <= 0 || p.Start%SectorSize != 0 || p.Size%SectorSize != 0 {
			return nil, fmt.Errorf("partition %d at byte %d, %d bytes: start and size must be positive whole sectors", p.Number, p.Start, p.Size)
		}
		first, count := p.Start/SectorSize, p.Size/SectorSize
		if first+count-1 > math.MaxUint32 {
			return nil, fmt.Errorf("partition %d ends at sector %d, beyond the 32-bit sector numbers of an msdos table", p.Number, first+count)
		}
		e := b[mbrEntryOffset+(p.Number-1)*mbrEntrySize:][:mbrEntrySize]
		if p.Bootable {
			e[0] = statusBootable
		}
		copy(e[1:4], chs(first))
		e[4] = p.Type
		copy(e[5:8], chs(first+count-1))
		binary.LittleEndian.PutUint32(e[8:], uint32(first))
		binary.LittleEndian.PutUint32(e[12:], uint32(count))
	}
	b[mbrSigOffset], b[mbrSigOffset+1] = 0x55, 0xAA
	return b, nil
}

// CHS geometry of the cylinder/head/sector fields. Linux, parted and the firmware of
// every hypervisor Kata supports use the LBA fields; the CHS fields are written only so
// the entries look as partitioning tools write them, from the de facto BIOS
// translation of 255 heads and 63 sectors per track, and the all-ones "beyond
// cylinder 1023" marker (1023/254/63) past 8 GiB. A fixed geometry keeps the bytes
// independent of the machine that builds the image.
const (
	chsHeads   = 255
	chsSectors = 63
	chsMaxCyl  = 1023
)

// chs encodes sector lba as an entry's 3-byte head, sector|cylinder-high, cylinder-low.
func chs(lba int64) []byte {
	c := lba / (chsHeads * chsSectors)
	h := lba / chsSectors % chsHeads
	s := lba%chsSectors + 1
	if c > chsMaxCyl {
		c, h, s = chsMaxCyl, chsHeads-1, chsSectors
	}
	return []byte{byte(h), byte(s) | byte(c>>8)<<6, byte(c)}
}

// ReadPartitions parses the msdos partition table in the first sector of r and
// returns its used entries in slot order. It checks what a reader of an untrusted
// image relies on: the signature, the status bytes, entries that are not empty,
// do not cover sector 0, end within the 32-bit sector range and do not overlap. Extended partitions and GPT protective
// entries are returned as entries of their type; the caller decides what it accepts.
func ReadPartitions(r io.ReaderAt) ([]Partition, error) {
	b := make([]byte, SectorSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no msdos partition table: the image is shorter than one %d-byte sector", SectorSize)
		}
		return nil, fmt.Errorf("read the msdos partition table (sector 0): %w", err)
	}
	if b[mbrSigOffset] != 0x55 || b[mbrSigOffset+1] != 0xAA {
		return nil, fmt.Errorf("no msdos partition table: bytes 510-511 are %#02x %#02x, a table ends with 0x55 0xaa", b[mbrSigOffset], b[mbrSigOffset+1])
	}
	var parts []Partition
	for i := range mbrEntries {
		e := b[mbrEntryOffset+i*mbrEntrySize:][:mbrEntrySize]
		n := i + 1
		if e[0] != 0 && e[0] != statusBootable {
			return nil, fmt.Errorf("msdos partition entry %d (byte %d): status %#02x is neither 0x00 nor 0x80, the table is corrupt", n, mbrEntryOffset+i*mbrEntrySize, e[0])
		}
		if e[4] == 0 {
			continue // an unused slot
		}
		first := int64(binary.LittleEndian.Uint32(e[8:]))
		count := int64(binary.LittleEndian.Uint32(e[12:]))
		if count == 0 {
			return nil, fmt.Errorf("msdos partition %d has type %#02x but no sectors: the table is corrupt", n, e[4])
		}
		if first+count-1 > math.MaxUint32 {
			return nil, fmt.Errorf("msdos partition %d ends at sector %d, past the last sector an msdos table can address (%d): the table is corrupt", n, first+count-1, uint32(math.MaxUint32))
		}
		if first == 0 {
			return nil, fmt.Errorf("msdos partition %d starts at sector 0, over the partition table itself: the table is corrupt", n)
		}
		p := Partition{Number: n, Bootable: e[0] == statusBootable, Type: e[4],
			Start: first * SectorSize, Size: count * SectorSize}
		for _, q := range parts {
			if p.Start < q.End() && q.Start < p.End() {
				return nil, fmt.Errorf("msdos partitions %d (bytes %d-%d) and %d (bytes %d-%d) overlap: the table is corrupt", q.Number, q.Start, q.End(), n, p.Start, p.End())
			}
		}
		parts = append(parts, p)
	}
	return parts, nil
}
