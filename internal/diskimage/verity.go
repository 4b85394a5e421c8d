package diskimage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// VeritySpec is what a dm-verity hash tree is computed from: what Kata's
// kernel_verity_params carries, less the root hash it is checked against.
type VeritySpec struct {
	DataBlocks    int64
	DataBlockSize int
	HashBlockSize int
	Salt          []byte
}

// maxVerityLevels is the kernel's DM_VERITY_MAX_LEVELS.
const maxVerityLevels = 63

// VerityTree computes the dm-verity hash tree of data as `veritysetup format
// --no-superblock --hash=sha256` writes it (format version 1: the salt is
// hashed before each block) and the root hash the table names: the tree's
// levels from the top down, each block zero-padded, exactly the bytes p2 of a
// measured Kata image holds. It reads exactly DataBlocks blocks of data, so a
// verifier needs neither veritysetup nor a kernel to prove an image matches
// its kernel_verity_params.
func VerityTree(data io.Reader, s VeritySpec) (root [sha256.Size]byte, tree []byte, err error) {
	if s.DataBlocks <= 0 {
		return root, nil, errors.New("verity: data_blocks must be positive")
	}
	for _, b := range []int{s.DataBlockSize, s.HashBlockSize} {
		if b < SectorSize || b > 1<<20 || b&(b-1) != 0 {
			return root, nil, fmt.Errorf("verity: block size %d: must be a power of two from 512 to 1 MiB", b)
		}
	}
	// sha256 digests are 32 bytes, a power of two: a hash block holds
	// HashBlockSize/32 of them with no padding between.
	perBlock := int64(s.HashBlockSize / sha256.Size)
	shift := uint(bits.TrailingZeros64(uint64(perBlock)))
	levels := 0
	for ; levels < maxVerityLevels; levels++ {
		if (s.DataBlocks-1)>>(shift*uint(levels)) == 0 {
			break
		}
	}
	digest := func(block []byte) [sha256.Size]byte {
		h := sha256.New()
		h.Write(s.Salt)
		h.Write(block)
		var d [sha256.Size]byte
		h.Sum(d[:0])
		return d
	}

	// Level 0 is the digests of the data blocks, streamed.
	buf := make([]byte, s.DataBlockSize)
	var level bytes.Buffer
	for i := int64(0); i < s.DataBlocks; i++ {
		if _, err := io.ReadFull(data, buf); err != nil {
			return root, nil, fmt.Errorf("verity: read data block %d of %d: %w", i, s.DataBlocks, err)
		}
		d := digest(buf)
		level.Write(d[:])
	}
	if levels == 0 {
		// One data block: its digest is the root and there is no tree.
		copy(root[:], level.Bytes())
		return root, nil, nil
	}
	var stored [][]byte // level 0 first
	cur := pad(level.Bytes(), s.HashBlockSize)
	stored = append(stored, cur)
	for l := 1; l < levels; l++ {
		var next bytes.Buffer
		for off := 0; off < len(cur); off += s.HashBlockSize {
			d := digest(cur[off : off+s.HashBlockSize])
			next.Write(d[:])
		}
		cur = pad(next.Bytes(), s.HashBlockSize)
		stored = append(stored, cur)
	}
	if len(cur) != s.HashBlockSize {
		return root, nil, fmt.Errorf("verity: top level has %d bytes, want one %d-byte block", len(cur), s.HashBlockSize)
	}
	root = digest(cur)
	for l := len(stored) - 1; l >= 0; l-- {
		tree = append(tree, stored[l]...)
	}
	return root, tree, nil
}

// pad zero-fills b to whole blocks of size.
func pad(b []byte, size int) []byte {
	if r := len(b) % size; r != 0 {
		b = append(b, make([]byte, size-r)...)
	}
	return b
}
