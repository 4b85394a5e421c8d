package diskimage

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/guestforge/guestforge/internal/artifact"
)

// What the pipeline's `veritysetup format` printed, and what is derived from it
// for a raw image: the dm-init command line and the arch's root_hash.txt. (For a
// Kata image the hash tree is p2 and internal/kata derives the command line.)

// VerityInfo is what `veritysetup format` reports about a hash tree.
type VerityInfo struct {
	RootHash, Salt, UUID, Algorithm string
	DataBlocks                      int64
	DataBlockSize, HashBlockSize    int64
}

// ParseVerityFormat reads `veritysetup format` output.
func ParseVerityFormat(out string) (VerityInfo, error) {
	var v VerityInfo
	for _, line := range strings.Split(out, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch strings.TrimSpace(key) {
		case "Root hash":
			v.RootHash = val
		case "Salt":
			v.Salt = val
		case "UUID":
			v.UUID = val
		case "Hash algorithm":
			v.Algorithm = val
		case "Data blocks":
			v.DataBlocks, err = strconv.ParseInt(val, 10, 64)
		case "Data block size":
			v.DataBlockSize, err = strconv.ParseInt(val, 10, 64)
		case "Hash block size":
			v.HashBlockSize, err = strconv.ParseInt(val, 10, 64)
		}
		if err != nil {
			return v, fmt.Errorf("veritysetup format: %q: %w", line, err)
		}
	}
	if len(v.RootHash) != 64 || v.DataBlocks <= 0 || v.DataBlockSize <= 0 || v.HashBlockSize <= 0 || v.Algorithm == "" {
		return v, fmt.Errorf("veritysetup format printed no complete hash tree description:\n%s", out)
	}
	return v, nil
}

// VerityCmdline is the kernel command line that mounts a raw image as a dm-verity
// root with dm-init (CONFIG_DM_INIT), no initrd needed: the image attached as the
// first virtio disk (/dev/vda), its .verity file as the second (/dev/vdb). The hash
// tree starts at hash block 1, after the verity superblock veritysetup writes.
func VerityCmdline(v VerityInfo, fs FS) string {
	sectors := v.DataBlocks * v.DataBlockSize / 512
	table := fmt.Sprintf("0 %d verity 1 /dev/vda /dev/vdb %d %d %d 1 %s %s %s",
		sectors, v.DataBlockSize, v.HashBlockSize, v.DataBlocks, v.Algorithm, v.RootHash, v.Salt)
	return fmt.Sprintf(`dm-mod.create="guestforge-root,,,ro,%s" dm-mod.waitfor=/dev/vda,/dev/vdb root=/dev/dm-0 rootfstype=%s ro`, table, fs)
}

// RootHashFile is the content of an arch directory's root_hash.txt
// (artifact.RootHashName): one line per verity-protected image, keyed by image
// name in hashes, "<root hash>  rootfs-<image>.img", sorted by file name (the
// sha256sum layout, so one file serves every image of the arch).
func RootHashFile(hashes map[string]string) []byte {
	var b strings.Builder
	for _, img := range slices.Sorted(maps.Keys(hashes)) {
		fmt.Fprintf(&b, "%s  %s\n", hashes[img], artifact.RootfsImageName(img))
	}
	return []byte(b.String())
}
