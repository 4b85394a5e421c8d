package initrd

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"github.com/guestforge/guestforge/internal/fstree"
)

// FromTar loads a tree from a tar stream, which is what a Dagger pipeline
// hands over (Directory.AsTarball) and what mmdebstrap writes. Regular file
// content is held in memory, so the stream is read once; limits.MaxTotalBytes
// stops an oversized stream early instead of exhausting memory. Owners and
// times in the tar are dropped like host metadata (see Options.Owners).
// Leading "/" and "./" are stripped from names; names with ".." are refused.
func FromTar(r io.Reader, limits Limits) (*Tree, error) {
	limits = limits.withDefaults()
	t := NewTree()
	tr := tar.NewReader(r)
	var total int64
	for n := 1; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tar member #%d: %w", n, truncated(err))
		}
		if n > limits.MaxEntries {
			return nil, fmt.Errorf("tar member #%d: the tree is over the limit of %d entries; raise the limit or remove content", n, limits.MaxEntries)
		}
		if isTarRoot(h.Name) {
			continue
		}
		p, err := CleanPath(h.Name)
		if err != nil {
			return nil, fmt.Errorf("tar member #%d: %w", n, err)
		}
		perm := uint32(h.Mode) & PermMask
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			if h.Size > limits.MaxFileBytes {
				return nil, fmt.Errorf("tar member #%d %s: %d bytes is over the per-file limit of %d", n, p, h.Size, limits.MaxFileBytes)
			}
			total += h.Size
			if total > limits.MaxTotalBytes {
				return nil, fmt.Errorf("tar member #%d %s: the tree is over the size limit of %d bytes; raise the limit or remove content", n, p, limits.MaxTotalBytes)
			}
			data := make([]byte, h.Size)
			if _, err := io.ReadFull(tr, data); err != nil {
				return nil, fmt.Errorf("tar member #%d %s: read content: %w", n, p, truncated(err))
			}
			err = t.Add(&Entry{Path: p, Kind: KindRegular, Perm: perm, Size: h.Size, Data: fstree.BytesContent(data)})
		case tar.TypeDir:
			err = t.Add(&Entry{Path: p, Kind: KindDir, Perm: perm})
		case tar.TypeSymlink:
			err = t.AddSymlink(p, h.Linkname)
		case tar.TypeLink:
			err = t.AddHardlink(p, h.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			kind := KindCharDev
			if h.Typeflag == tar.TypeBlock {
				kind = KindBlockDev
			}
			err = t.AddDevice(p, kind, uint32(h.Devmajor), uint32(h.Devminor), perm)
		case tar.TypeFifo:
			err = t.AddSpecial(p, KindFifo, perm)
		default:
			return nil, fmt.Errorf("tar member #%d %s: unsupported tar type %q", n, p, h.Typeflag)
		}
		if err != nil {
			return nil, fmt.Errorf("tar member #%d: %w", n, err)
		}
	}
	return t, nil
}

func isTarRoot(name string) bool {
	switch name {
	case ".", "./", "/", "":
		return true
	}
	return false
}

// truncated explains the tar reader's bare io.ErrUnexpectedEOF: the stream
// ended inside a header or a member's content.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the tar stream is truncated (it ends inside this member): the file is incomplete (an interrupted export or download); export or fetch it again: %w", err)
	}
	return err
}
