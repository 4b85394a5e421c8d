package verify

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/kata"
)

// measuredImage writes a Kata-layout image of a 64-block filesystem with its hash
// tree in p2, and the params file that describes it.
func measuredImage(t *testing.T) (image, params string) {
	t.Helper()
	dir := t.TempDir()
	fs := bytes.Repeat([]byte("guestforge p1 data block\n"), 64*4096/25+1)[:64*4096]
	salt := bytes.Repeat([]byte{0x5a}, 32)
	root, tree, err := diskimage.VerityTree(bytes.NewReader(fs), diskimage.VeritySpec{DataBlocks: 64, DataBlockSize: 4096, HashBlockSize: 4096, Salt: salt})
	if err != nil {
		t.Fatal(err)
	}
	l, err := diskimage.Plan(diskimage.Spec{FilesystemSize: int64(len(fs)), HashTreeSize: int64(len(tree)), DiskID: 1, Alignment: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	image = filepath.Join(dir, "rootfs-default.img")
	f, err := os.Create(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := diskimage.Write(f, l, bytes.NewReader(fs), bytes.NewReader(tree)); err != nil {
		t.Fatal(err)
	}
	v := kata.VerityParams{RootHash: hex.EncodeToString(root[:]), Salt: hex.EncodeToString(salt), DataBlocks: 64, DataBlockSize: 4096, HashBlockSize: 4096}
	params = filepath.Join(dir, "verity-default.params")
	if err := os.WriteFile(params, []byte(v.Format()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return image, params
}

func TestMeasuredImageMatchesParams(t *testing.T) {
	image, params := measuredImage(t)
	if err := checkMeasuredImage(image, params); err != nil {
		t.Fatalf("a consistent image fails: %v", err)
	}
	f, _ := os.Open(image)
	parts, _ := diskimage.ReadPartitions(f)
	f.Close()
	p1, p2 := parts[0], parts[1]

	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, f *os.File)
		want   string
	}{
		{"p1 byte", func(t *testing.T, f *os.File) { f.WriteAt([]byte{'X'}, p1.Start+4096*7+3) }, "p1's dm-verity root hash is"},
		{"p2 byte", func(t *testing.T, f *os.File) { f.WriteAt([]byte{0xff}, p2.Start+40) }, "p2 is not p1's hash tree: it differs at byte 40 of p2"},
		{"p2 entry shifted", func(t *testing.T, f *os.File) {
			entry := make([]byte, 4)
			f.ReadAt(entry, 446+16+8)
			binary.LittleEndian.PutUint32(entry, binary.LittleEndian.Uint32(entry)+8)
			f.WriteAt(entry, 446+16+8)
		}, "p2 is not p1's hash tree"},
		{"truncated", func(t *testing.T, f *os.File) { f.Truncate(p2.Start + 100) }, "past the image's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			image, params := measuredImage(t)
			f, err := os.OpenFile(image, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			c.tamper(t, f)
			f.Close()
			if err := checkMeasuredImage(image, params); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// Params of another image: the data size they cover is not p1's.
	_, params = measuredImage(t)
	os.WriteFile(params, []byte(strings.Replace(mustRead(t, params), "data_blocks=64", "data_blocks=63", 1)), 0o644)
	if err := checkMeasuredImage(image, params); err == nil || !strings.Contains(err.Error(), "the params are not this image's") {
		t.Fatalf("other params: %v", err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
