package diskimage

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// The expected entries were computed apart from this package (a short Python script
// of the MBR entry format with the 255/63 geometry); the 2048 start matches the
// "00 20 21 00" fdisk writes for a partition at 1 MiB.
func TestEncodeMBRBytes(t *testing.T) {
	l, err := Plan(Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash, DiskID: 0x1a2b3c4d})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		table  int64
		p1, p2 string
	}{
		{"MBR #1", 0, "80612200839f39260018000000600900", "009f3a2683ed07260078090000130000"},
		{"MBR #2", 2 * MiB, "80202100835e38260008000000600900", "005e392683ac06260068090000130000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeMBR(l.Spec.DiskID, l.Partitions(tt.table))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 512 {
				t.Fatalf("table is %d bytes, want 512", len(b))
			}
			if !bytes.Equal(b[:440], make([]byte, 440)) {
				t.Error("boot code area is not all zeros")
			}
			if got := hex.EncodeToString(b[440:446]); got != "4d3c2b1a0000" {
				t.Errorf("disk id and reserved bytes = %s, want 4d3c2b1a0000 (0x1a2b3c4d little-endian)", got)
			}
			if got := hex.EncodeToString(b[446:462]); got != tt.p1 {
				t.Errorf("entry 1 = %s, want %s", got, tt.p1)
			}
			if got := hex.EncodeToString(b[462:478]); got != tt.p2 {
				t.Errorf("entry 2 = %s, want %s", got, tt.p2)
			}
			if !bytes.Equal(b[478:510], make([]byte, 32)) {
				t.Errorf("entries 3 and 4 = %x, want zeros", b[478:510])
			}
			if b[510] != 0x55 || b[511] != 0xaa {
				t.Errorf("signature = %x, want 55aa", b[510:])
			}
		})
	}
}

func TestCHS(t *testing.T) {
	tests := []struct {
		lba  int64
		want string
	}{
		{0, "000100"},
		{2048, "202100"},
		{16064, "fe3f00"},    // last sector of cylinder 0
		{16065, "000101"},    // first of cylinder 1
		{16450559, "feffff"}, // the last addressable one, 1023/254/63
		{16450560, "feffff"}, // beyond: the same marker
		{0xffffffff, "feffff"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(chs(tt.lba)); got != tt.want {
			t.Errorf("chs(%d) = %s, want %s", tt.lba, got, tt.want)
		}
	}
}

func TestReadPartitionsRoundTrip(t *testing.T) {
	l, err := Plan(Spec{FilesystemSize: erofsSize, HashTreeSize: erofsHash})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []int64{l.MBR1.Offset, l.MBR2.Offset} {
		b, err := encodeMBR(1, l.Partitions(table))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadPartitions(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		assertPartitions(t, "round trip", got, l.Partitions(table))
	}
}

func TestReadPartitionsRefuses(t *testing.T) {
	valid := func() []byte {
		b, err := encodeMBR(1, []Partition{
			{Number: 1, Bootable: true, Type: 0x83, Start: MiB, Size: 8 * MiB},
			{Number: 2, Type: 0x83, Start: 9 * MiB, Size: MiB},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name  string
		image func() []byte
		want  string
	}{
		{"short", func() []byte { return make([]byte, 100) }, "no msdos partition table: the image is shorter than one 512-byte sector"},
		{"no signature", func() []byte { b := valid(); b[511] = 0; return b }, "no msdos partition table: bytes 510-511 are 0x55 0x00, a table ends with 0x55 0xaa"},
		{"bad status", func() []byte { b := valid(); b[462] = 0x01; return b }, "msdos partition entry 2 (byte 462): status 0x01 is neither 0x00 nor 0x80, the table is corrupt"},
		{"no sectors", func() []byte { b := valid(); clear(b[474:478]); return b }, "msdos partition 2 has type 0x83 but no sectors: the table is corrupt"},
		{"starts at 0", func() []byte { b := valid(); clear(b[454:458]); return b }, "msdos partition 1 starts at sector 0, over the partition table itself: the table is corrupt"},
		{"overlap", func() []byte { b := valid(); b[470] = 0x00; b[471] = 0x10; return b }, "msdos partitions 1 (bytes 1048576-9437184) and 2 (bytes 2097152-3145728) overlap: the table is corrupt"},
		{"past 2^32 sectors", func() []byte { b := valid(); copy(b[470:474], []byte{0xff, 0xff, 0xff, 0xff}); return b }, "msdos partition 2 ends at sector 4294969342, past the last sector an msdos table can address (4294967295): the table is corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := ReadPartitions(bytes.NewReader(tt.image()))
			if err == nil {
				t.Fatalf("ReadPartitions = %+v, want an error", ps)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
	// The unmodified table reads, so each case above fails for its own reason.
	if _, err := ReadPartitions(bytes.NewReader(valid())); err != nil {
		t.Fatalf("valid table: %v", err)
	}
}

func TestReadPartitionsSkipsEmptySlots(t *testing.T) {
	b, err := encodeMBR(9, []Partition{{Number: 3, Type: 0x0c, Start: 2048 * 512, Size: 4096 * 512}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadPartitions(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	assertPartitions(t, "slot 3", got, []Partition{{Number: 3, Type: 0x0c, Start: MiB, Size: 2 * MiB}})
}

func TestEncodeMBRRefuses(t *testing.T) {
	tests := []struct {
		p    Partition
		want string
	}{
		{Partition{Number: 5, Start: MiB, Size: MiB}, "partition number 5: an msdos table has entries 1 to 4"},
		{Partition{Number: 1, Start: MiB + 1, Size: MiB}, "partition 1 at byte 1048577, 1048576 bytes: start and size must be positive whole sectors"},
		{Partition{Number: 1, Start: 0, Size: MiB}, "partition 1 at byte 0, 1048576 bytes: start and size"},
		{Partition{Number: 1, Start: 512, Size: 2 << 40}, "partition 1 ends at sector 4294967297, beyond the 32-bit sector numbers of an msdos table"},
	}
	for _, tt := range tests {
		_, err := encodeMBR(0, []Partition{tt.p})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("encodeMBR(%+v) error = %v, want prefix %q", tt.p, err, tt.want)
		}
	}
}
