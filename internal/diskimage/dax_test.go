package diskimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// Golden values from Kata's own tool: tools/osbuilder/image-builder/nsdax.gpl.c built
// with gcc and run as image_builder.sh runs it (`nsdax header.img 2097152 2097152`) on
// a zeroed file; these are the checksum field and the sha256 of bytes 4096-8191.
const (
	kataNsdaxChecksum = 0x685b032be3943830
	kataNsdaxSHA256   = "b502df4b37a7b6ba1f3c93416b77768a9f6df41ce2ec7fe46804180ca2191553"
)

func TestDAXHeaderBytes(t *testing.T) {
	b := kataDAXHeader().encode()
	if len(b) != 4096 {
		t.Fatalf("info block is %d bytes, want 4096", len(b))
	}
	le := binary.LittleEndian
	if got := string(b[0:16]); got != "NVDIMM_PFN_INFO\x00" {
		t.Errorf("signature = %q", got)
	}
	if !bytes.Equal(b[16:48], make([]byte, 32)) {
		t.Errorf("uuid and parent uuid = %x, want zeros", b[16:48])
	}
	for _, f := range []struct {
		name     string
		got, val uint64
	}{
		{"flags", uint64(le.Uint32(b[48:])), 0},
		{"version_major", uint64(le.Uint16(b[52:])), 0},
		{"version_minor", uint64(le.Uint16(b[54:])), 2},
		{"dataoff", le.Uint64(b[56:]), 2 << 20},
		{"npfns", le.Uint64(b[64:]), 0},
		{"mode", uint64(le.Uint32(b[72:])), 1},
		{"start_pad", uint64(le.Uint32(b[76:])), 0},
		{"end_trunc", uint64(le.Uint32(b[80:])), 0},
		{"align", uint64(le.Uint32(b[84:])), 2 << 20},
	} {
		if f.got != f.val {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.val)
		}
	}
	if !bytes.Equal(b[88:4088], make([]byte, 4000)) {
		t.Error("padding is not all zeros")
	}
	sum := le.Uint64(b[4088:])
	if want := closedFormFletcher64(b[:4088]); sum != want {
		t.Errorf("checksum = %#x, the closed form gives %#x", sum, want)
	}
	if sum != kataNsdaxChecksum {
		t.Errorf("checksum = %#x, Kata's nsdax writes %#x", sum, uint64(kataNsdaxChecksum))
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != kataNsdaxSHA256 {
		t.Errorf("sha256 of the info block = %x, Kata's nsdax gives %s", got, kataNsdaxSHA256)
	}
}

// closedFormFletcher64 computes nd_fletcher64 without its running sum: lo is the sum
// of the words, and since only hi's low 32 bits survive the shift, hi is the sum of
// word i weighted by how many running sums include it (n-i), all mod 2^32. words
// past len(b) (the checksum field) are zero and add nothing.
func closedFormFletcher64(b []byte) uint64 {
	n := uint64(4096 / 4)
	var lo, hi uint64
	for i := uint64(0); i < uint64(len(b))/4; i++ {
		w := uint64(binary.LittleEndian.Uint32(b[4*i:]))
		lo += w
		hi += (n - i) * w
	}
	return (hi&0xffffffff)<<32 | lo&0xffffffff
}

func TestFletcher64AgainstClosedForm(t *testing.T) {
	// Words large enough that both sums wrap many times.
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	if got, want := fletcher64(b), closedFormFletcher64(b); got != want {
		t.Errorf("fletcher64 = %#x, closed form = %#x", got, want)
	}
}

// image puts an info block at byte 4096 of an 8 KiB image.
func daxImage(block []byte) []byte {
	img := make([]byte, 8192)
	copy(img[4096:], block)
	return img
}

func TestReadDAX(t *testing.T) {
	h, err := ReadDAX(bytes.NewReader(daxImage(kataDAXHeader().encode())))
	if err != nil {
		t.Fatal(err)
	}
	want := DAXHeader{VersionMinor: 2, Mode: 1, DataOffset: 2 << 20, Align: 2 << 20, Checksum: kataNsdaxChecksum}
	if h != want {
		t.Errorf("ReadDAX:\n got %+v\nwant %+v", h, want)
	}
}

func TestReadDAXRefuses(t *testing.T) {
	with := func(edit func(*DAXHeader)) []byte {
		h := kataDAXHeader()
		edit(&h)
		return daxImage(h.encode())
	}
	tests := []struct {
		name  string
		image []byte
		want  string
	}{
		{"short", make([]byte, 6000), "no DAX header: the image ends before byte 8192, where the nvdimm info block would end"},
		{"no header", make([]byte, 8192), `no DAX header: bytes 4096-4112 are "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", an nvdimm info block starts with "NVDIMM_PFN_INFO\x00" (an image built with SkipDAXHeader has none)`},
		{"dax signature", func() []byte { b := daxImage(kataDAXHeader().encode()); copy(b[4096+7:], "DAX"); return b }(), `no DAX header: bytes 4096-4112 are "NVDIMM_DAX_INFO\x00"`},
		// Byte 2000 set to 1 is word 500 += 1: lo gains 1, hi gains 1024-500 = 0x20c.
		{"corrupt", func() []byte { b := daxImage(kataDAXHeader().encode()); b[4096+2000] = 1; return b }(), "DAX header at byte 4096: checksum field is 0x685b032be3943830 but the block sums to 0x685b0537e3943831, the header is corrupt"},
		{"parent uuid", with(func(h *DAXHeader) { h.ParentUUID[0] = 0xab }), "DAX header: parent uuid ab000000000000000000000000000000 is not zero"},
		{"mode none", with(func(h *DAXHeader) { h.Mode = 0 }), "DAX header: mode 0 is neither RAM (1) nor PMEM (2), the kernel refuses it"},
		{"offset not page aligned", with(func(h *DAXHeader) { h.DataOffset = 2<<20 + 512 }), "DAX header: data offset 2097664 must be a multiple of 4096 and at least 8192"},
		{"offset inside reserve", with(func(h *DAXHeader) { h.DataOffset = 4096 }), "DAX header: data offset 4096 must be a multiple of 4096 and at least 8192"},
		{"offset not aligned", with(func(h *DAXHeader) { h.DataOffset = 1 << 20 }), `DAX header: data offset 1048576 (start pad 0) is not a multiple of the alignment 2097152: the kernel disables DAX ("bad offset")`},
		// Before minor 2 the kernel ignores align and uses the largest power of two in
		// dataoff: 3 MiB gives 2 MiB, which 3 MiB is not a multiple of.
		{"old minor", with(func(h *DAXHeader) { h.VersionMinor = 1; h.DataOffset = 3 << 20; h.Align = 1 << 20 }), "DAX header: data offset 3145728 (start pad 0) is not a multiple of the alignment 2097152"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadDAX(bytes.NewReader(tt.image))
			if err == nil {
				t.Fatalf("ReadDAX = %+v, want an error", h)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got %q\nwant prefix %q", err, tt.want)
			}
		})
	}
	// The same edit with minor 2 and a 1 MiB align is valid: the old-minor case fails
	// because of the version, not the values.
	if _, err := ReadDAX(bytes.NewReader(with(func(h *DAXHeader) { h.DataOffset = 3 << 20; h.Align = 1 << 20 }))); err != nil {
		t.Errorf("3 MiB offset with 1 MiB align: %v", err)
	}
}
