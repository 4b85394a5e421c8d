package diskimage

import (
	"slices"
	"strings"
	"testing"
)

func TestPlanExt4(t *testing.T) {
	small := Ext4Content{Entries: 100, DataBlocks: 100, DirBlocks: 20}
	big := Ext4Content{Entries: 12000, DataBlocks: 60000, DirBlocks: 1600, LongSymlinks: 40}
	for _, c := range []Ext4Content{small, big} {
		l := PlanExt4(c)
		if l.Bytes%(1<<20) != 0 {
			t.Errorf("%d bytes is not MiB-aligned", l.Bytes)
		}
		if min := (c.DataBlocks + c.DirBlocks) * 4096; l.Bytes < min+8<<20 {
			t.Errorf("%d bytes does not hold %d bytes of blocks plus headroom", l.Bytes, min)
		}
		if l.Inodes < int64(c.Entries) || l.Inodes%8 != 0 {
			t.Errorf("%d inodes for %d entries", l.Inodes, c.Entries)
		}
	}
	if PlanExt4(big).Bytes <= PlanExt4(small).Bytes {
		t.Error("more content did not give a bigger image")
	}
	// Headroom is bounded: a 234 MiB tree gets well under 300 MiB.
	if l := PlanExt4(big); l.Bytes > 300<<20 {
		t.Errorf("%d MiB for %d MiB of blocks: too much headroom", l.Bytes>>20, (big.DataBlocks*4096)>>20)
	}
	// The sizes are in every released image's bytes (mkfs's block count).
	if got, want := PlanExt4(small), (Ext4Layout{Bytes: 13 << 20, Inodes: 176}); got != want {
		t.Errorf("PlanExt4(small) = %+v, want %+v", got, want)
	}
	if got, want := PlanExt4(big), (Ext4Layout{Bytes: 269 << 20, Inodes: 13264}); got != want {
		t.Errorf("PlanExt4(big) = %+v, want %+v", got, want)
	}
}

func TestMkfs4Args(t *testing.T) {
	got := Mkfs4Args(Ext4Layout{Bytes: 269 << 20, Inodes: 13264}, "u", "s", "gf-default", "/rootfs", "/out/rootfs.img")
	want := []string{"mkfs.ext4", "-q", "-F", "-T", "guestforge", "-b", "4096", "-I", "256", "-N", "13264", "-m", "0",
		"-J", "size=4", "-L", "gf-default", "-U", "u", "-E", "hash_seed=s,root_owner=0:0,nodiscard",
		"-d", "/rootfs", "/out/rootfs.img", "275456k"}
	if !slices.Equal(got, want) {
		t.Errorf("Mkfs4Args =\n%q\nwant\n%q", got, want)
	}
	// -T guestforge names the usage type the pinned configuration defines.
	if !strings.Contains(Mke2fsConf, "\tguestforge = {") || !strings.Contains(Mke2fsConf, "has_journal") {
		t.Errorf("Mke2fsConf lacks the guestforge usage type or the journal:\n%s", Mke2fsConf)
	}
}

const dumpe2fsSample = `Filesystem volume name:   gf-default
Inode count:              6144
Block count:              20480
Free inodes:              10
First inode:              11
Inodes per group:         2048
Group descriptor size:    64
Group 0: (Blocks 0-8191) csum 0x7a63 [ITABLE_ZEROED]
  Primary superblock at 0, Group descriptors at 1-1
  0 free blocks, 0 free inodes, 2 directories
  Free blocks: 
  Free inodes: 
Group 1: (Blocks 8192-16383) csum 0x1234 [ITABLE_ZEROED]
  Free inodes: 2100-2110, 2200-2300, 4000-4096
Group 2: (Blocks 16384-20479) csum 0x9abc [INODE_UNINIT, ITABLE_ZEROED]
  Free inodes: 4097-6144
`

func TestUsedInodes(t *testing.T) {
	got, err := UsedInodes(dumpe2fsSample)
	if err != nil {
		t.Fatal(err)
	}
	want := []InodeRange{{11, 2099}, {2111, 2199}, {2301, 3999}}
	if len(got) != len(want) {
		t.Fatalf("UsedInodes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("UsedInodes = %v, want %v", got, want)
		}
	}
	script := DebugfsTimes([]InodeRange{{11, 12}}, 1767225600)
	if script != "sif <11> atime @1767225600\nsif <11> ctime @1767225600\nsif <11> mtime @1767225600\n"+
		"sif <12> atime @1767225600\nsif <12> ctime @1767225600\nsif <12> mtime @1767225600\n" {
		t.Errorf("DebugfsTimes = %q", script)
	}
	for _, bad := range []string{"", "Inode count: 10\n", strings.Replace(dumpe2fsSample, "Group 2:", "Group x:", 1)} {
		if _, err := UsedInodes(bad); err == nil {
			t.Errorf("UsedInodes accepted %q", bad)
		}
	}
}
