package diskimage

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// ReadPartitions and ReadDAX read images `release verify` downloads: whatever the
// bytes, they must not panic, and what they accept must hold the invariants callers
// rely on.

func FuzzReadPartitions(f *testing.F) {
	for _, s := range []Spec{
		{FilesystemSize: ext4Size, HashTreeSize: ext4Hash},
		{FilesystemSize: erofsSize, SkipDAXHeader: true},
	} {
		l, err := Plan(s)
		if err != nil {
			f.Fatal(err)
		}
		b, err := encodeMBR(0x01020304, l.Partitions(0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(make([]byte, 512))
	f.Add([]byte{0x55, 0xaa})
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := ReadPartitions(bytes.NewReader(data))
		if err != nil {
			return
		}
		prev := 0
		for i, p := range parts {
			if p.Number <= prev || p.Number > 4 {
				t.Fatalf("partition numbers out of order or range: %+v", parts)
			}
			prev = p.Number
			if p.Start < SectorSize || p.Size <= 0 || p.Start%SectorSize != 0 || p.Size%SectorSize != 0 {
				t.Fatalf("accepted partition %+v", p)
			}
			for _, q := range parts[:i] {
				if p.Start < q.End() && q.Start < p.End() {
					t.Fatalf("accepted overlapping partitions %+v and %+v", q, p)
				}
			}
		}
		// What was accepted can be written back and reads the same.
		again, err := encodeMBR(binary.LittleEndian.Uint32(data[mbrDiskIDOffset:]), parts)
		if err != nil {
			t.Fatalf("accepted partitions %+v do not encode: %v", parts, err)
		}
		back, err := ReadPartitions(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("re-encoded table does not read: %v", err)
		}
		if len(back) != len(parts) {
			t.Fatalf("round trip %+v -> %+v", parts, back)
		}
		for i := range back {
			if back[i] != parts[i] {
				t.Fatalf("round trip %+v -> %+v", parts, back)
			}
		}
	})
}

func FuzzReadDAX(f *testing.F) {
	// The fuzzer mutates the info block alone: ReadDAX never reads the first 4 KiB,
	// and half-size inputs keep the mutator fast.
	f.Add(kataDAXHeader().encode(), false)
	f.Add(kataDAXHeader().encode(), true)
	f.Add(make([]byte, pfnInfoSize), true)
	f.Add([]byte("NVDIMM_PFN_INFO\x00"), true)
	f.Fuzz(func(t *testing.T, block []byte, fixChecksum bool) {
		// With fixChecksum the block gets a valid checksum, so mutations reach the
		// checks behind it instead of all stopping at the checksum.
		if fixChecksum && len(block) >= pfnInfoSize {
			block = bytes.Clone(block)
			clear(block[pfnChecksumOffset:pfnInfoSize])
			binary.LittleEndian.PutUint64(block[pfnChecksumOffset:], fletcher64(block[:pfnInfoSize]))
		}
		img := append(make([]byte, pfnInfoOffset), block...)
		h, err := ReadDAX(bytes.NewReader(img))
		if err != nil {
			return
		}
		if h.ParentUUID != [16]byte{} || (h.Mode != PFNModeRAM && h.Mode != PFNModePMEM) ||
			h.DataOffset%BlockSize != 0 || h.DataOffset < pfnReserve {
			t.Fatalf("accepted %+v", h)
		}
	})
}
