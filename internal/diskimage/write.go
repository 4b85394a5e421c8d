package diskimage

import (
	"errors"
	"fmt"
	"io"
)

// Image is what Write assembles into; *os.File is one.
type Image interface {
	io.WriterAt
	Truncate(size int64) error
}

// copyBuffer is the chunk contents are streamed in: images are hundreds of MiB.
const copyBuffer = 1 * MiB

// Write assembles the image l describes into dst, replacing what dst held: the
// tables, the DAX header when l has one, filesystem (exactly l.Filesystem.Size bytes)
// as p1 and hashTree (exactly l.HashTree.Size bytes; nil when l has no p2) as p2.
// Gaps are left as holes of a file truncated to size, which read as zeros, so the
// same inputs give the same bytes and the image costs only its content on disk.
func Write(dst Image, l Layout, filesystem, hashTree io.Reader) error {
	planned, err := Plan(l.Spec)
	if err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	if planned != l {
		return errors.New("layout was not made by Plan from its Spec (or was changed since): call Plan and pass its result unchanged")
	}
	if filesystem == nil {
		return errors.New("no filesystem reader: p1 is required")
	}
	if (hashTree != nil) != (l.HashTree.Size > 0) {
		if hashTree == nil {
			return fmt.Errorf("the layout has a %d-byte hash tree partition but no hash tree reader was given", l.HashTree.Size)
		}
		return errors.New("a hash tree reader was given but the layout has no hash tree partition: plan with Spec.HashTreeSize")
	}

	// Truncating to 0 first drops whatever dst held; growing makes the zero holes.
	if err := dst.Truncate(0); err != nil {
		return fmt.Errorf("empty the image file: %w", err)
	}
	if err := dst.Truncate(l.Size); err != nil {
		return fmt.Errorf("size the image file to %d bytes: %w", l.Size, err)
	}

	if err := writeMBR(dst, l, l.MBR1.Offset); err != nil {
		return err
	}
	if l.DAXHeader.Size > 0 {
		if _, err := dst.WriteAt(kataDAXHeader().encode(), l.PFNInfo.Offset); err != nil {
			return fmt.Errorf("write the DAX header at byte %d: %w", l.PFNInfo.Offset, err)
		}
		if err := writeMBR(dst, l, l.MBR2.Offset); err != nil {
			return err
		}
	}
	buf := make([]byte, copyBuffer)
	if err := copyExactly(dst, l.Filesystem, filesystem, buf, "filesystem (p1)"); err != nil {
		return err
	}
	if hashTree != nil {
		if err := copyExactly(dst, l.HashTree, hashTree, buf, "hash tree (p2)"); err != nil {
			return err
		}
	}
	return nil
}

func writeMBR(dst io.WriterAt, l Layout, at int64) error {
	b, err := encodeMBR(l.Spec.DiskID, l.Partitions(at))
	if err != nil {
		return fmt.Errorf("partition table at byte %d: %w", at, err)
	}
	if _, err := dst.WriteAt(b, at); err != nil {
		return fmt.Errorf("write the partition table at byte %d: %w", at, err)
	}
	return nil
}

// copyExactly streams r into e and fails unless r holds exactly e.Size bytes: a
// content size that differs from the planned one means the layout is wrong.
func copyExactly(dst io.WriterAt, e Extent, r io.Reader, buf []byte, what string) error {
	w := io.NewOffsetWriter(dst, e.Offset)
	n, err := io.CopyBuffer(w, io.LimitReader(r, e.Size), buf)
	if err != nil {
		return fmt.Errorf("write the %s at byte %d: %w", what, e.Offset+n, err)
	}
	if n < e.Size {
		return fmt.Errorf("the %s ended after %d bytes, the layout was planned for %d: plan with the content's real size", what, n, e.Size)
	}
	if m, err := r.Read(buf[:1]); m > 0 {
		return fmt.Errorf("the %s is longer than the %d bytes the layout was planned for: plan with the content's real size", what, e.Size)
	} else if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the %s: %w", what, err)
	}
	return nil
}
