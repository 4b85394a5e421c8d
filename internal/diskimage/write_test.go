package diskimage

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// content is n deterministic bytes with no zero runs, so a misplaced or dropped
// chunk cannot pass for a hole.
func content(n int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(255)) + 1
	}
	return b
}

// writeImage writes l with fs and hash (nil: no p2) to a new file and returns its bytes.
func writeImage(t *testing.T, path string, l Layout, fs, hash []byte) []byte {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hr io.Reader
	if hash != nil {
		hr = bytes.NewReader(hash)
	}
	if err := Write(f, l, bytes.NewReader(fs), hr); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestWriteRoundTrip(t *testing.T) {
	const fsSize, hashSize = 5*MiB + 12*4096, 45056 // p1 not whole MiB: p2 is pushed up
	tests := []struct {
		name string
		spec Spec
	}{
		{"verity dax", Spec{FilesystemSize: fsSize, HashTreeSize: hashSize, Alignment: 4 * MiB, DiskID: 0xdeadbeef}},
		{"verity no dax", Spec{FilesystemSize: fsSize, HashTreeSize: hashSize, SkipDAXHeader: true, Alignment: 4 * MiB, DiskID: 0xdeadbeef}},
		{"plain dax", Spec{FilesystemSize: fsSize, Alignment: MiB, DiskID: 2}},
		{"plain no dax", Spec{FilesystemSize: fsSize, SkipDAXHeader: true, Alignment: MiB, DiskID: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Plan(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			fs := content(tt.spec.FilesystemSize, 1)
			var hash []byte
			if tt.spec.HashTreeSize > 0 {
				hash = content(tt.spec.HashTreeSize, 2)
			}
			path := filepath.Join(t.TempDir(), "rootfs.img")
			// Junk where the image goes: Write must replace it, not write over it.
			if err := os.WriteFile(path, bytes.Repeat([]byte{0xee}, int(l.Size)+MiB), 0o644); err != nil {
				t.Fatal(err)
			}
			img := writeImage(t, path, l, fs, hash)
			if int64(len(img)) != l.Size {
				t.Fatalf("image is %d bytes, the layout says %d", len(img), l.Size)
			}

			// What every reader sees: MBR #1 on the whole disk; with DAX, the info
			// block and MBR #2 at its data offset, as /dev/pmem0 exposes them.
			parts, err := ReadPartitions(bytes.NewReader(img))
			if err != nil {
				t.Fatal(err)
			}
			assertPartitions(t, "MBR #1", parts, l.Partitions(0))
			assertPartitionBytes(t, "MBR #1", img, parts, fs, hash)
			if got := img[440:444]; !bytes.Equal(got, le32(tt.spec.DiskID)) {
				t.Errorf("disk id bytes %x, want %x", got, le32(tt.spec.DiskID))
			}

			h, daxErr := ReadDAX(bytes.NewReader(img))
			if tt.spec.SkipDAXHeader {
				if daxErr == nil || !strings.HasPrefix(daxErr.Error(), "no DAX header") {
					t.Errorf("ReadDAX of an image without header: %v, want no DAX header", daxErr)
				}
				// Without the header p1 is at 1 MiB of the whole disk.
				if parts[0].Start != MiB {
					t.Errorf("p1 at %d, want %d", parts[0].Start, MiB)
				}
			} else {
				if daxErr != nil {
					t.Fatal(daxErr)
				}
				if h.DataOffset != 2*MiB || h.Align != 2*MiB || h.Mode != PFNModeRAM {
					t.Errorf("DAX header %+v", h)
				}
				ns := img[h.DataOffset:]
				parts2, err := ReadPartitions(bytes.NewReader(ns))
				if err != nil {
					t.Fatal(err)
				}
				assertPartitions(t, "MBR #2", parts2, l.Partitions(l.MBR2.Offset))
				assertPartitionBytes(t, "MBR #2", ns, parts2, fs, hash)
				for i := range parts {
					if parts[i].Start != parts2[i].Start+int64(h.DataOffset) || parts[i].Size != parts2[i].Size {
						t.Errorf("partition %d: MBR #1 %+v is not MBR #2 %+v shifted by %d", i+1, parts[i], parts2[i], h.DataOffset)
					}
				}
			}

			assertZeroOutside(t, img, l)

			// The same inputs again, into another file: the same bytes.
			again := writeImage(t, filepath.Join(t.TempDir(), "again.img"), l, fs, hash)
			if sha256.Sum256(img) != sha256.Sum256(again) {
				t.Error("two writes of the same inputs differ")
			}
		})
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func assertPartitionBytes(t *testing.T, what string, disk []byte, parts []Partition, fs, hash []byte) {
	t.Helper()
	if !bytes.Equal(disk[parts[0].Start:parts[0].End()], fs) {
		t.Errorf("%s: p1 does not hold the filesystem bytes", what)
	}
	if hash != nil && !bytes.Equal(disk[parts[1].Start:parts[1].End()], hash) {
		t.Errorf("%s: p2 does not hold the hash tree bytes", what)
	}
}

// assertZeroOutside checks every byte outside the tables, the info block and the
// partitions is zero.
func assertZeroOutside(t *testing.T, img []byte, l Layout) {
	t.Helper()
	used := []Extent{l.MBR1, l.MBR2, l.PFNInfo, l.Filesystem, l.HashTree}
	for i, b := range img {
		if b == 0 {
			continue
		}
		in := false
		for _, e := range used {
			if int64(i) >= e.Offset && int64(i) < e.End() {
				in = true
				break
			}
		}
		if !in {
			t.Fatalf("byte %d is %#02x, outside every table and partition", i, b)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	l, err := Plan(Spec{FilesystemSize: 8192, HashTreeSize: 4096, Alignment: MiB})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Plan(Spec{FilesystemSize: 8192, Alignment: MiB})
	if err != nil {
		t.Fatal(err)
	}
	edited := l
	edited.HashTree.Offset += SectorSize
	tests := []struct {
		name     string
		l        Layout
		fs, hash io.Reader
		want     string
	}{
		{"short filesystem", l, bytes.NewReader(make([]byte, 4096)), bytes.NewReader(make([]byte, 4096)), "the filesystem (p1) ended after 4096 bytes, the layout was planned for 8192: plan with the content's real size"},
		{"long filesystem", l, bytes.NewReader(make([]byte, 8193)), bytes.NewReader(make([]byte, 4096)), "the filesystem (p1) is longer than the 8192 bytes the layout was planned for: plan with the content's real size"},
		{"short hash tree", l, bytes.NewReader(make([]byte, 8192)), bytes.NewReader(make([]byte, 100)), "the hash tree (p2) ended after 100 bytes, the layout was planned for 4096"},
		{"missing hash tree", l, bytes.NewReader(make([]byte, 8192)), nil, "the layout has a 4096-byte hash tree partition but no hash tree reader was given"},
		{"unexpected hash tree", plain, bytes.NewReader(make([]byte, 8192)), bytes.NewReader(nil), "a hash tree reader was given but the layout has no hash tree partition: plan with Spec.HashTreeSize"},
		{"no filesystem", l, nil, bytes.NewReader(nil), "no filesystem reader: p1 is required"},
		{"edited layout", edited, bytes.NewReader(make([]byte, 8192)), bytes.NewReader(make([]byte, 4096)), "layout was not made by Plan from its Spec (or was changed since): call Plan and pass its result unchanged"},
		{"zero layout", Layout{}, bytes.NewReader(nil), nil, "layout: filesystem size 0: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "img"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = Write(f, tt.l, tt.fs, tt.hash)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Write error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// pattern is an endless reader of non-zero bytes that allocates nothing.
type pattern struct{ n byte }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.n = p.n%251 + 1
		b[i] = p.n
	}
	return len(b), nil
}

// Write streams: a 64 MiB filesystem passes through a bounded buffer, it is never
// held whole in memory.
func TestWriteStreams(t *testing.T) {
	const fsSize = 64 * MiB
	l, err := Plan(Spec{FilesystemSize: fsSize, Alignment: MiB})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "big.img"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Write(f, l, io.LimitReader(&pattern{}, fsSize), nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*MiB {
		t.Errorf("Write of a %d-byte filesystem allocated %d bytes: it must stream", fsSize, alloc)
	}
	got := make([]byte, 4096)
	if _, err := f.ReadAt(got, l.Filesystem.End()-4096); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, fsSize)
	if _, err := io.ReadFull(&pattern{}, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[fsSize-4096:]) {
		t.Error("the last block of p1 is not the last block of the filesystem")
	}
}
