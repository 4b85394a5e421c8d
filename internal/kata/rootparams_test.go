package kata

import (
	"errors"
	"testing"
)

func TestRootParams(t *testing.T) {
	v := testVerity()
	// 131072 blocks of 4096 bytes are 1048576 sectors of 512.
	verityTable := func(data, hash string) string {
		return `"dm-verity,,,ro,0 1048576 verity 1 ` + data + ` ` + hash + ` 4096 4096 131072 0 sha256 ` + testRootHash + ` ` + testSalt + `"`
	}
	tests := []struct {
		name          string
		rootfstype    string
		disableNvdimm bool
		dax           bool
		verity        *VerityParams
		want          string
		err           string
	}{
		{name: "default ext4 on nvdimm", want: "root=/dev/pmem0p1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"},
		{name: "ext4 nvdimm dax", rootfstype: "ext4", dax: true, want: "root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4"},
		{name: "ext4 virtio-blk", rootfstype: "ext4", disableNvdimm: true, want: "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"},
		{name: "xfs nvdimm", rootfstype: "xfs", want: "root=/dev/pmem0p1 rootflags=ro rootfstype=xfs"},
		{name: "xfs nvdimm dax", rootfstype: "xfs", dax: true, want: "root=/dev/pmem0p1 rootflags=dax ro rootfstype=xfs"},
		{name: "erofs virtio-blk", rootfstype: "erofs", disableNvdimm: true, want: "root=/dev/vda1 rootflags=ro rootfstype=erofs"},
		{name: "erofs nvdimm dax", rootfstype: "erofs", dax: true, want: "root=/dev/pmem0p1 rootflags=dax ro rootfstype=erofs"},
		{name: "virtio-blk with dax", disableNvdimm: true, dax: true, err: ErrVirtioBlkDAX.Error()},
		{name: "unsupported fs", rootfstype: "btrfs",
			err: `kata: rootfs_type "btrfs" is not one Kata's runtime mounts: use ext4, xfs or erofs`},
		{name: "verity ext4 virtio-blk", disableNvdimm: true, verity: &v,
			want: "dm-mod.create=" + verityTable("/dev/vda1", "/dev/vda2") + " root=/dev/dm-0 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"},
		{name: "verity nvdimm ignores dax", dax: true, verity: &v,
			want: "dm-mod.create=" + verityTable("/dev/pmem0p1", "/dev/pmem0p2") + " root=/dev/dm-0 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"},
		{name: "verity virtio-blk with dax is not refused (Kata checks DAX only without verity)", disableNvdimm: true, dax: true, rootfstype: "erofs", verity: &v,
			want: "dm-mod.create=" + verityTable("/dev/vda1", "/dev/vda2") + " root=/dev/dm-0 rootflags=ro rootfstype=erofs"},
		{name: "verity unsupported fs", rootfstype: "vfat", verity: &v,
			err: `kata: rootfs_type "vfat" is not one Kata's runtime mounts: use ext4, xfs or erofs`},
		{name: "invalid verity struct", verity: &VerityParams{RootHash: "aa", Salt: "bb", DataBlocks: 1, DataBlockSize: 4096, HashBlockSize: 100},
			err: `kernel_verity_params: field "hash_block_size" is 100, not a multiple of 512 bytes: use the block size veritysetup was run with (4096 by default)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RootParams(tt.rootfstype, tt.disableNvdimm, tt.dax, tt.verity)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("RootParams error = %v, want %q (params %v)", err, tt.err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("RootParams: %v", err)
			}
			if s := JoinParams(got); s != tt.want {
				t.Fatalf("RootParams:\n got %s\nwant %s", s, tt.want)
			}
		})
	}
	if _, err := RootParams("", true, true, nil); !errors.Is(err, ErrVirtioBlkDAX) {
		t.Fatalf("DAX on virtio-blk: error %v is not ErrVirtioBlkDAX", err)
	}
}

// TestRootParamsPairs pins the pairs, not just their rendering: the quoted
// dm-mod.create value is one parameter, and rootflags keeps its space.
func TestRootParamsPairs(t *testing.T) {
	v := testVerity()
	got, err := RootParams("xfs", true, false, &v)
	if err != nil {
		t.Fatal(err)
	}
	want := []Param{
		{"dm-mod.create", `"dm-verity,,,ro,0 1048576 verity 1 /dev/vda1 /dev/vda2 4096 4096 131072 0 sha256 ` + testRootHash + ` ` + testSalt + `"`},
		{"root", "/dev/dm-0"},
		{"rootflags", "ro"},
		{"rootfstype", "xfs"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d params %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("param %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
