package kata

import (
	"errors"
	"fmt"
)

// Root devices as the guest kernel names them: the first partition of the
// NVDIMM-backed image or of the first virtio-blk disk (Kata: hypervisor.go,
// the Nvdimm and VirtioBlk constants). p2 holds the dm-verity hash tree.
const (
	nvdimmRoot    = "/dev/pmem0p1"
	nvdimmHash    = "/dev/pmem0p2"
	virtioBlkRoot = "/dev/vda1"
	virtioBlkHash = "/dev/vda2"
	// verityRoot is the mapped device dm-mod.create makes first.
	verityRoot = "/dev/dm-0"
)

// Root filesystem types Kata's runtime accepts in rootfs_type.
const (
	RootfsExt4  = "ext4"
	RootfsXFS   = "xfs"
	RootfsEROFS = "erofs"
)

// ErrVirtioBlkDAX is RootParams' answer to DAX on a virtio-blk root: DAX maps
// the image into guest memory, which only the NVDIMM path does.
var ErrVirtioBlkDAX = errors.New("kata: DAX needs an NVDIMM root, but disable_image_nvdimm puts the image on virtio-blk: set disable_image_nvdimm = false or turn DAX off")

// RootParams returns the kernel parameters that make the guest mount a
// guestforge disk image as its root, exactly as Kata's runtime computes them
// (src/runtime/virtcontainers/hypervisor.go GetKernelRootParams):
//
//   - rootfstype "" means ext4;
//   - with verity, a dm-verity table on p1/p2 (hash start block 0, sha256),
//     quoted because it holds spaces, root=/dev/dm-0 and read-only flags; DAX
//     is not used on this path;
//   - without verity, root=/dev/pmem0p1 (NVDIMM) or /dev/vda1
//     (disableNvdimm), with "dax" in the flags when asked for;
//   - DAX with disableNvdimm fails with ErrVirtioBlkDAX.
func RootParams(rootfstype string, disableNvdimm, dax bool, verity *VerityParams) ([]Param, error) {
	if rootfstype == "" {
		rootfstype = RootfsExt4
	}
	if verity != nil {
		if err := verity.Validate(); err != nil {
			return nil, err
		}
		dataDev, hashDev := nvdimmRoot, nvdimmHash
		if disableNvdimm {
			dataDev, hashDev = virtioBlkRoot, virtioBlkHash
		}
		flags, err := rootFlags(rootfstype, false)
		if err != nil {
			return nil, err
		}
		// dm-mod.create="<name>,<uuid>,<minor>,<flags>,<table>": Kata leaves
		// name, uuid and minor empty. Table: start 0, length in 512-byte
		// sectors, target verity, format version 1, data and hash devices,
		// the two block sizes, data block count, hash start block 0, sha256.
		sectors := v512(verity.DataBlockSize) * verity.DataBlocks
		table := fmt.Sprintf("dm-verity,,,ro,0 %d verity 1 %s %s %d %d %d 0 sha256 %s %s",
			sectors, dataDev, hashDev, verity.DataBlockSize, verity.HashBlockSize,
			verity.DataBlocks, verity.RootHash, verity.Salt)
		return []Param{
			{Key: "dm-mod.create", Value: `"` + table + `"`},
			{Key: "root", Value: verityRoot},
			{Key: "rootflags", Value: flags},
			{Key: "rootfstype", Value: rootfstype},
		}, nil
	}
	if disableNvdimm && dax {
		return nil, ErrVirtioBlkDAX
	}
	root := nvdimmRoot
	if disableNvdimm {
		root = virtioBlkRoot
	}
	flags, err := rootFlags(rootfstype, dax)
	if err != nil {
		return nil, err
	}
	return []Param{
		{Key: "root", Value: root},
		{Key: "rootflags", Value: flags},
		{Key: "rootfstype", Value: rootfstype},
	}, nil
}

func v512(blockSize uint64) uint64 { return blockSize / verityBlockSize }

// rootFlags mirrors the per-filesystem mount flags of GetKernelRootParams
// and kernelVerityRootFlags: ext4 remounts read-only on errors, all roots are
// mounted read-only, and DAX is prepended (with a space for xfs/erofs, a
// comma for ext4, as Kata writes them).
func rootFlags(rootfstype string, dax bool) (string, error) {
	switch rootfstype {
	case RootfsEROFS, RootfsXFS:
		if dax {
			return "dax ro", nil
		}
		return "ro", nil
	case RootfsExt4:
		if dax {
			return "dax,data=ordered,errors=remount-ro ro", nil
		}
		return "data=ordered,errors=remount-ro ro", nil
	}
	return "", fmt.Errorf("kata: rootfs_type %q is not one Kata's runtime mounts: use %s, %s or %s",
		rootfstype, RootfsExt4, RootfsXFS, RootfsEROFS)
}
