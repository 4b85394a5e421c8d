package build

import (
	"regexp"
	"strings"
	"testing"
)

func TestContentUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := ContentUUID("abc", "ext4 uuid")
	if !re.MatchString(a) {
		t.Fatalf("%q is not a version 8 RFC 9562 UUID", a)
	}
	if a != ContentUUID("abc", "ext4 uuid") {
		t.Error("same content, different UUID")
	}
	if a == ContentUUID("abd", "ext4 uuid") || a == ContentUUID("abc", "ext4 hash seed") {
		t.Error("different content or purpose gave the same UUID")
	}
	if s := VeritySalt("abc"); len(s) != 64 || s == VeritySalt("abd") {
		t.Errorf("salt %q: want 64 hex digits that depend on the digest", s)
	}
}

func TestPlanExt4(t *testing.T) {
	small := RootfsStats{Entries: 100, Dirs: 20, Files: 70, DataBlocks: 100, DirBlocks: 20}
	big := RootfsStats{Entries: 12000, Dirs: 1500, Files: 9000, DataBlocks: 60000, DirBlocks: 1600, LongSymlinks: 40}
	for _, st := range []RootfsStats{small, big} {
		l := PlanExt4(st)
		if l.Bytes%(1<<20) != 0 {
			t.Errorf("%d bytes is not MiB-aligned", l.Bytes)
		}
		if min := (st.DataBlocks + st.DirBlocks) * 4096; l.Bytes < min+8<<20 {
			t.Errorf("%d bytes does not hold %d bytes of blocks plus headroom", l.Bytes, min)
		}
		if l.Inodes < int64(st.Entries) || l.Inodes%8 != 0 {
			t.Errorf("%d inodes for %d entries", l.Inodes, st.Entries)
		}
	}
	if PlanExt4(big).Bytes <= PlanExt4(small).Bytes {
		t.Error("more content did not give a bigger image")
	}
	// Headroom is bounded: a 234 MiB tree gets well under 300 MiB.
	if l := PlanExt4(big); l.Bytes > 300<<20 {
		t.Errorf("%d MiB for %d MiB of blocks: too much headroom", l.Bytes>>20, (big.DataBlocks*4096)>>20)
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

const verityFormatSample = `VERITY header information for rootfs.img.verity
UUID:            	11111111-2222-8333-8444-555555555555
Hash type:       	1
Data blocks:     	51200
Data block size: 	4096
Hash blocks:     	405
Hash block size: 	4096
Hash algorithm:  	sha256
Salt:            	7c3df1d0bf74de32363a9b356c4fd9b2618a48cc4eb23222315a6ccb567d5bb3
Root hash:      	7b537a1de773b6bff0c36ceb2270d0e1de8c6d876776db18abb42f7ae991b511
Hash device size: 	1662976 [bytes]
`

func TestVerity(t *testing.T) {
	v, err := ParseVerityFormat(verityFormatSample)
	if err != nil {
		t.Fatal(err)
	}
	if v.RootHash != "7b537a1de773b6bff0c36ceb2270d0e1de8c6d876776db18abb42f7ae991b511" || v.DataBlocks != 51200 ||
		v.Salt != "7c3df1d0bf74de32363a9b356c4fd9b2618a48cc4eb23222315a6ccb567d5bb3" || v.Algorithm != "sha256" {
		t.Fatalf("parsed %+v", v)
	}
	want := `dm-mod.create="guestforge-root,,,ro,0 409600 verity 1 /dev/vda /dev/vdb 4096 4096 51200 1 sha256 ` +
		`7b537a1de773b6bff0c36ceb2270d0e1de8c6d876776db18abb42f7ae991b511 7c3df1d0bf74de32363a9b356c4fd9b2618a48cc4eb23222315a6ccb567d5bb3" ` +
		`dm-mod.waitfor=/dev/vda,/dev/vdb root=/dev/dm-0 rootfstype=ext4 ro`
	if got := VerityCmdline(v, FSExt4); got != want {
		t.Errorf("VerityCmdline =\n%s\nwant\n%s", got, want)
	}
	if _, err := ParseVerityFormat("Root hash: abc\n"); err == nil {
		t.Error("an incomplete description was accepted")
	}
	got := string(RootHashFile(map[string]string{"systemd": "bb", "default": "aa"}))
	if got != "aa  rootfs-default.img\nbb  rootfs-systemd.img\n" {
		t.Errorf("RootHashFile = %q", got)
	}
}

func TestParseFS(t *testing.T) {
	for _, ok := range []string{"ext4", "erofs"} {
		if _, err := ParseFS(ok); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseFS("xfs"); err == nil || !strings.Contains(err.Error(), "ext4 or erofs") {
		t.Errorf("ParseFS(xfs) = %v", err)
	}
}
