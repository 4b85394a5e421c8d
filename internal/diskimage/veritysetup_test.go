package diskimage

import "testing"

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
