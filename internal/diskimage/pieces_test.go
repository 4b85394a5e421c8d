package diskimage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestPiecesRebuildWrite: a file made of Pieces, p1 and p2 at the layout's offsets
// is byte-identical to what Write makes, with and without DAX and verity, so the
// pipeline's dd-based assembly and Write cannot drift apart.
func TestPiecesRebuildWrite(t *testing.T) {
	fs := bytes.Repeat([]byte("ext4 block data "), 3*BlockSize/16)
	hash := bytes.Repeat([]byte{0xa5}, 2*SectorSize)
	for _, c := range []struct {
		name string
		spec Spec
		hash []byte
	}{
		{"dax+verity", Spec{FilesystemSize: int64(len(fs)), HashTreeSize: int64(len(hash)), DiskID: 0x1234abcd, Alignment: 4 * MiB}, hash},
		{"dax", Spec{FilesystemSize: int64(len(fs)), DiskID: 7, Alignment: 4 * MiB}, nil},
		{"plain+verity", Spec{FilesystemSize: int64(len(fs)), HashTreeSize: int64(len(hash)), SkipDAXHeader: true, DiskID: 9, Alignment: 4 * MiB}, hash},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Plan(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(filepath.Join(t.TempDir(), "w.img"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var hr *bytes.Reader
			if c.hash != nil {
				hr = bytes.NewReader(c.hash)
			}
			if hr != nil {
				err = Write(f, l, bytes.NewReader(fs), hr)
			} else {
				err = Write(f, l, bytes.NewReader(fs), nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, l.Size)
			pieces, err := Pieces(l)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pieces {
				copy(got[p.Offset:], p.Data)
			}
			copy(got[l.Filesystem.Offset:], fs)
			if c.hash != nil {
				copy(got[l.HashTree.Offset:], c.hash)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("pieces + contents differ from Write's image")
			}
			wantPieces := 1
			if !c.spec.SkipDAXHeader {
				wantPieces = 3
			}
			if len(pieces) != wantPieces {
				t.Fatalf("%d pieces, want %d", len(pieces), wantPieces)
			}
		})
	}
	if _, err := Pieces(Layout{Size: 1}); err == nil {
		t.Fatal("Pieces accepted a layout Plan did not make")
	}
}
