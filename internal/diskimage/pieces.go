package diskimage

import "fmt"

// Piece is a run of bytes the layout itself puts into an image: a partition table
// or the DAX info block. Everything else in an image is p1, p2 or zeros.
type Piece struct {
	Offset int64
	Data   []byte
	What   string
}

// Pieces are the tables and DAX block of l in image order. An assembler that cannot
// call Write (the image builder container, which has dd but not this package) writes
// these at their offsets into a zeroed file of l.Size bytes, then p1 and p2 at
// l.Filesystem and l.HashTree, and gets the bytes Write would have written.
func Pieces(l Layout) ([]Piece, error) {
	planned, err := Plan(l.Spec)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if planned != l {
		return nil, fmt.Errorf("layout was not made by Plan from its Spec (or was changed since): call Plan and pass its result unchanged")
	}
	mbr := func(at int64, what string) (Piece, error) {
		b, err := encodeMBR(l.Spec.DiskID, l.Partitions(at))
		if err != nil {
			return Piece{}, fmt.Errorf("partition table at byte %d: %w", at, err)
		}
		return Piece{Offset: at, Data: b, What: what}, nil
	}
	first, err := mbr(l.MBR1.Offset, "MBR #1")
	if err != nil {
		return nil, err
	}
	out := []Piece{first}
	if l.DAXHeader.Size > 0 {
		out = append(out, Piece{Offset: l.PFNInfo.Offset, Data: kataDAXHeader().encode(), What: "DAX info block"})
		second, err := mbr(l.MBR2.Offset, "MBR #2")
		if err != nil {
			return nil, err
		}
		out = append(out, second)
	}
	return out, nil
}
