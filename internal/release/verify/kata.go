package verify

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/release/dist"
)

// maxParamsBytes bounds a verity-<image>.params file (one line of about 200 bytes).
const maxParamsBytes = 4 * boundedio.KiB

// kataLayouts proves every measured image is what Kata's runtime will mount from
// its kernel_verity_params: an msdos table with p1 and p2, p1 exactly the data the
// params cover, and p2 exactly the dm-verity hash tree of p1 whose root hash the
// params name, recomputed here (no veritysetup, no kernel). A signed release whose
// params and image disagree would only fail inside the guest, as a mount error.
func kataLayouts(t *dist.Tree, rep *Report) error {
	for _, ad := range t.Arches {
		for _, im := range ad.Images {
			rel := path.Join(ad.Arch.Name, artifact.VerityParamsName(im.Name))
			if im.Rootfs == "" || !t.Has(rel) {
				continue
			}
			if err := checkMeasuredImage(t.Path(im.Rootfs), t.Path(rel)); err != nil {
				return &Failure{Step: "kata layout", Item: im.Rootfs, Err: err}
			}
			rep.ok("kata layout %s: p1 and p2 match %s", im.Rootfs, path.Base(rel))
		}
	}
	return nil
}

func checkMeasuredImage(image, paramsFile string) error {
	text, err := boundedio.ReadFileLimit(paramsFile, maxParamsBytes, "a verity params file")
	if err != nil {
		return err
	}
	v, err := kata.ParseVerityParams(string(bytes.TrimSuffix(text, []byte("\n"))))
	if err != nil || v == nil {
		return fmt.Errorf("%s is not a kernel_verity_params value Kata accepts: %v", path.Base(paramsFile), err)
	}
	salt, err := hex.DecodeString(v.Salt)
	if err != nil {
		return fmt.Errorf("%s: salt %q is not hex", path.Base(paramsFile), v.Salt)
	}
	f, err := os.Open(image)
	if err != nil {
		return err
	}
	defer f.Close()
	parts, err := diskimage.ReadPartitions(f)
	if err != nil {
		return fmt.Errorf("%w: Kata mounts a measured image as p1 and p2 of an msdos table", err)
	}
	if len(parts) != 2 {
		return fmt.Errorf("%d partitions: a measured image has p1 (the filesystem) and p2 (its hash tree)", len(parts))
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.End() > st.Size() {
			return fmt.Errorf("p%d ends at byte %d, past the image's %d bytes: the image is truncated", p.Number, p.End(), st.Size())
		}
	}
	p1, p2 := parts[0], parts[1]
	if covered := int64(v.DataBlocks * v.DataBlockSize); covered != p1.Size {
		return fmt.Errorf("%s covers %d bytes (%d blocks of %d), p1 holds %d: the params are not this image's", path.Base(paramsFile), covered, v.DataBlocks, v.DataBlockSize, p1.Size)
	}
	root, tree, err := diskimage.VerityTree(io.NewSectionReader(f, p1.Start, p1.Size), diskimage.VeritySpec{
		DataBlocks: int64(v.DataBlocks), DataBlockSize: int(v.DataBlockSize), HashBlockSize: int(v.HashBlockSize), Salt: salt})
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(root[:]); got != v.RootHash {
		return fmt.Errorf("p1's dm-verity root hash is %s, %s says %s: the filesystem changed after the params were made", got, path.Base(paramsFile), v.RootHash)
	}
	if int64(len(tree)) > p2.Size {
		return fmt.Errorf("p2 holds %d bytes, the hash tree is %d", p2.Size, len(tree))
	}
	stored := make([]byte, len(tree))
	if _, err := f.ReadAt(stored, p2.Start); err != nil {
		return fmt.Errorf("read p2: %w", err)
	}
	if !bytes.Equal(stored, tree) {
		i := 0
		for i < len(tree) && stored[i] == tree[i] {
			i++
		}
		return fmt.Errorf("p2 is not p1's hash tree: it differs at byte %d of p2 (image byte %d); the guest's dm-verity would refuse the root", i, p2.Start+int64(i))
	}
	return nil
}
