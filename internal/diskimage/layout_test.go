package diskimage

import (
	"strings"
	"testing"
)

// Sizes shaped like what the pipeline makes: an ext4 image in whole MiB (PlanExt4
// aligns), an erofs image of whole blocks but not whole MiB, and hash trees of whole
// 4 KiB hash blocks.
const (
	ext4Size  = 300 * MiB
	ext4Hash  = 2490368 // 608 hash blocks
	erofsSize = 57344000
	erofsHash = 462848 // 113 hash blocks
)

func TestPlan(t *testing.T) {
	dax := func(l Layout) Layout {
		l.DAXHeader = Extent{0, 2 * MiB}
		l.PFNInfo = Extent{4096, 4096}
		l.MBR2 = Extent{2 * MiB, 512}
		return l
	}
	mbr1 := Extent{0, 512}
	tests := []struct {
		name string
		spec Spec
		want Layout
	}{{
		name: "ext4 verity dax",
		spec: Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash, DiskID: 7},
		want: dax(Layout{
			Spec: Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash, Alignment: 128 * MiB, DiskID: 7},
			MBR1: mbr1, Filesystem: Extent{3 * MiB, ext4Size}, HashTree: Extent{303 * MiB, ext4Hash},
			Size: 384 * MiB,
		}),
	}, {
		name: "ext4 plain no dax",
		spec: Spec{FilesystemSize: ext4Size, SkipDAXHeader: true},
		want: Layout{
			Spec: Spec{FilesystemSize: ext4Size, SkipDAXHeader: true, Alignment: 128 * MiB},
			MBR1: mbr1, Filesystem: Extent{1 * MiB, ext4Size}, Size: 384 * MiB,
		},
	}, {
		name: "ext4 verity no dax",
		spec: Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash, SkipDAXHeader: true},
		want: Layout{
			Spec: Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash, SkipDAXHeader: true, Alignment: 128 * MiB},
			MBR1: mbr1, Filesystem: Extent{1 * MiB, ext4Size}, HashTree: Extent{301 * MiB, ext4Hash},
			Size: 384 * MiB,
		},
	}, {
		// p1 ends at 60489728 (57.6875 MiB): p2 moves up to the next MiB.
		name: "erofs verity dax",
		spec: Spec{FilesystemSize: erofsSize, HashTreeSize: erofsHash},
		want: dax(Layout{
			Spec: Spec{FilesystemSize: erofsSize, HashTreeSize: erofsHash, Alignment: 128 * MiB},
			MBR1: mbr1, Filesystem: Extent{3 * MiB, erofsSize}, HashTree: Extent{58 * MiB, erofsHash},
			Size: 128 * MiB,
		}),
	}, {
		name: "erofs plain dax",
		spec: Spec{FilesystemSize: erofsSize},
		want: dax(Layout{
			Spec:       Spec{FilesystemSize: erofsSize, Alignment: 128 * MiB},
			MBR1:       mbr1,
			Filesystem: Extent{3 * MiB, erofsSize}, Size: 128 * MiB,
		}),
	}, {
		// A 1 MiB alignment: the image ends at the MiB after p2's last byte.
		name: "erofs verity no dax 1MiB alignment",
		spec: Spec{FilesystemSize: erofsSize, HashTreeSize: erofsHash, SkipDAXHeader: true, Alignment: MiB},
		want: Layout{
			Spec: Spec{FilesystemSize: erofsSize, HashTreeSize: erofsHash, SkipDAXHeader: true, Alignment: MiB},
			MBR1: mbr1, Filesystem: Extent{1 * MiB, erofsSize}, HashTree: Extent{56 * MiB, erofsHash},
			Size: 57 * MiB,
		},
	}, {
		// Exactly full: p1 ends on the alignment, nothing is added.
		name: "exact fit",
		spec: Spec{FilesystemSize: 125 * MiB},
		want: dax(Layout{
			Spec: Spec{FilesystemSize: 125 * MiB, Alignment: 128 * MiB},
			MBR1: mbr1, Filesystem: Extent{3 * MiB, 125 * MiB}, Size: 128 * MiB,
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Plan:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPartitionsOfBothTables(t *testing.T) {
	l, err := Plan(Spec{FilesystemSize: ext4Size, HashTreeSize: ext4Hash})
	if err != nil {
		t.Fatal(err)
	}
	want1 := []Partition{
		{Number: 1, Bootable: true, Type: 0x83, Start: 3 * MiB, Size: ext4Size},
		{Number: 2, Type: 0x83, Start: 303 * MiB, Size: ext4Hash},
	}
	want2 := []Partition{
		{Number: 1, Bootable: true, Type: 0x83, Start: 1 * MiB, Size: ext4Size},
		{Number: 2, Type: 0x83, Start: 301 * MiB, Size: ext4Hash},
	}
	assertPartitions(t, "MBR #1", l.Partitions(l.MBR1.Offset), want1)
	assertPartitions(t, "MBR #2", l.Partitions(l.MBR2.Offset), want2)

	plain, err := Plan(Spec{FilesystemSize: erofsSize})
	if err != nil {
		t.Fatal(err)
	}
	// No hash tree: one partition, and no boot flag (Kata sets it only with p2).
	assertPartitions(t, "plain", plain.Partitions(0),
		[]Partition{{Number: 1, Type: 0x83, Start: 3 * MiB, Size: erofsSize}})
}

func assertPartitions(t *testing.T, what string, got, want []Partition) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d partitions %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s partition %d:\n got %+v\nwant %+v", what, i+1, got[i], want[i])
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"zero filesystem", Spec{}, "filesystem size 0: must be positive, the byte size of the p1 image"},
		{"negative filesystem", Spec{FilesystemSize: -4096}, "filesystem size -4096: must be positive"},
		{"filesystem not whole blocks", Spec{FilesystemSize: 4096*10 + 512}, "filesystem size 41472 is not a multiple of 4096: make the filesystem with 4096-byte blocks and a size in whole blocks"},
		{"negative hash tree", Spec{FilesystemSize: 4096, HashTreeSize: -512}, "hash tree size -512: must be 0 (no verity) or the byte size of the hash tree"},
		{"hash tree not whole sectors", Spec{FilesystemSize: 4096, HashTreeSize: 1000}, "hash tree size 1000 is not a multiple of 512"},
		{"alignment not MiB", Spec{FilesystemSize: 4096, Alignment: 4096}, "alignment 4096: must be a positive multiple of 1 MiB (1048576), or 0 for the default 134217728"},
		{"negative alignment", Spec{FilesystemSize: 4096, Alignment: -MiB}, "alignment -1048576: must be a positive multiple"},
		{"filesystem past 2 TiB", Spec{FilesystemSize: 2<<40 + 4096}, "filesystem size of 2199023259648 bytes is beyond what an msdos partition table addresses (2199023255552 bytes, 2^32 sectors of 512): use a smaller rootfs"},
		{"huge filesystem does not overflow", Spec{FilesystemSize: 1<<62 - 4096*4}, "filesystem size of 4611686018427371520 bytes is beyond"},
		{"huge hash tree", Spec{FilesystemSize: 4096, HashTreeSize: 1 << 61}, "hash tree size of 2305843009213693952 bytes is beyond"},
		{"image one MiB past 2 TiB", Spec{FilesystemSize: 2<<40 - MiB + 4096, SkipDAXHeader: true, Alignment: MiB}, "image of 2199024304128 bytes is beyond"},
		{"image past 2 TiB", Spec{FilesystemSize: 2<<40 - MiB, HashTreeSize: MiB}, "image of 2199157473280 bytes is beyond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Plan(tt.spec)
			if err == nil {
				t.Fatalf("Plan(%+v) = %+v, want an error", tt.spec, l)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got %q\nwant prefix %q", err, tt.want)
			}
		})
	}
}

// The largest image a table can describe is accepted: the limit is not off by one.
func TestPlanLargestImage(t *testing.T) {
	l, err := Plan(Spec{FilesystemSize: 2<<40 - 3*MiB, Alignment: MiB})
	if err != nil {
		t.Fatal(err)
	}
	if l.Size != 2<<40 {
		t.Errorf("size %d, want %d", l.Size, int64(2<<40))
	}
	if _, err := encodeMBR(0, l.Partitions(0)); err != nil {
		t.Errorf("encode MBR #1 of the largest image: %v", err)
	}
}
