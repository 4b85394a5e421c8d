package authenticode

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The digests osslsigncode 2.9 signed for testdata/synthetic.efi
// (testdata/README.md has the commands): its "Calculated message digest"
// for a SHA-256 and a SHA-384 signature.
const (
	synthSHA256 = "6df504ea5104dca5e3ce2fd6d67558cec9c1c4f92ad31618bd1284247169d6f4"
	synthSHA384 = "4227acd8ae0eec13e9670b34ba45c969ea36957afee497007810092fd3a435ae6d033277ee6d35c2f366f0ef350801e7"
)

// synthPE builds testdata/synthetic.efi: a PE32+ EFI application whose
// section table is not in file order (.text after .data in the file), with
// a section without raw data (.bss) and 0x100 bytes after the last section.
func synthPE() []byte {
	img := make([]byte, 0x700)
	for i := range img {
		img[i] = byte(i*13 + i>>8 + 5)
	}
	clear(img[:0x200])
	le16 := func(o int, v uint16) { binary.LittleEndian.PutUint16(img[o:], v) }
	le32 := func(o int, v uint32) { binary.LittleEndian.PutUint32(img[o:], v) }
	copy(img, "MZ")
	le32(0x3c, 0x40)
	copy(img[0x40:], "PE\x00\x00")
	c := 0x44
	le16(c, 0x8664)   // Machine: x86-64
	le16(c+2, 3)      // NumberOfSections
	le16(c+16, 0xf0)  // SizeOfOptionalHeader
	le16(c+18, 0x22)  // Characteristics: executable, large address aware
	o := c + coffSize // 0x58
	le16(o, magicPE32Plus)
	le32(o+4, 0x200)                                   // SizeOfCode
	le32(o+16, 0x2000)                                 // AddressOfEntryPoint
	le32(o+20, 0x2000)                                 // BaseOfCode
	binary.LittleEndian.PutUint64(img[o+24:], 0x10000) // ImageBase
	le32(o+32, 0x1000)                                 // SectionAlignment
	le32(o+36, 0x200)                                  // FileAlignment
	le32(o+56, 0x4000)                                 // SizeOfImage
	le32(o+60, 0x200)                                  // SizeOfHeaders
	le32(o+64, 0x12345678)                             // CheckSum, which the digest leaves out
	le16(o+68, 10)                                     // Subsystem: EFI application
	le32(o+108, 16)                                    // NumberOfRvaAndSizes
	sec := func(i int, name string, va, size, ptr, flags uint32) {
		e := o + 0xf0 + i*sectionSize
		copy(img[e:e+8], name)
		le32(e+8, size)
		le32(e+12, va)
		le32(e+16, size)
		le32(e+20, ptr)
		le32(e+36, flags)
	}
	sec(0, ".text", 0x2000, 0x200, 0x400, 0x60000020)
	sec(1, ".data", 0x1000, 0x200, 0x200, 0xc0000040)
	sec(2, ".bss", 0x3000, 0, 0, 0xc0000080)
	return img
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexDigest(t *testing.T, b []byte, h crypto.Hash) string {
	t.Helper()
	d, err := Digest(b, h)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(d)
}

func TestSyntheticFixture(t *testing.T) {
	if !bytes.Equal(readFixture(t, "synthetic.efi"), synthPE()) {
		t.Fatal("testdata/synthetic.efi differs from synthPE()")
	}
}

// The committed image and the copy osslsigncode signed give the digest the
// tool put in its signature: the certificate table and the directory entry
// and CheckSum it changed are left out.
func TestDigestMatchesOsslsigncode(t *testing.T) {
	for _, name := range []string{"synthetic.efi", "synthetic-signed-sha384.efi"} {
		b := readFixture(t, name)
		if got := hexDigest(t, b, crypto.SHA256); got != synthSHA256 {
			t.Errorf("%s: SHA-256 %s, osslsigncode %s", name, got, synthSHA256)
		}
		if got := hexDigest(t, b, crypto.SHA384); got != synthSHA384 {
			t.Errorf("%s: SHA-384 %s, osslsigncode %s", name, got, synthSHA384)
		}
		d, err := SHA384(b)
		if err != nil || hex.EncodeToString(d[:]) != synthSHA384 {
			t.Errorf("%s: SHA384() %x, %v", name, d, err)
		}
	}
}

// The ranges are the specification's: headers without CheckSum
// (0x98-0x9c) and the Certificate Table entry (0xe8-0xf0), then .data
// (file 0x200) before .text (0x400) although the table lists .text first,
// no range for .bss, then the trailing 0x100 bytes.
func TestLayout(t *testing.T) {
	l, err := Parse(synthPE())
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 0x98}, {0x9c, 0xe8}, {0xf0, 0x200}, {0x200, 0x400}, {0x400, 0x600}, {0x600, 0x700}}
	if !l.PE32Plus || l.Machine != 0x8664 || l.Subsystem != 10 || len(l.Ranges) != len(want) {
		t.Fatalf("layout %+v, want PE32+ and %x", l, want)
	}
	for i := range want {
		if l.Ranges[i] != want[i] {
			t.Errorf("range %d is %#x, want %#x", i, l.Ranges[i], want[i])
		}
	}
}

// Bytes the digest leaves out do not move it; every other byte does.
func TestDigestCoverage(t *testing.T) {
	base := hexDigest(t, synthPE(), crypto.SHA384)
	for _, tc := range []struct {
		name    string
		off     int
		changes bool
	}{
		{"CheckSum", 0x98, false},
		{"Certificate Table address", 0xe8, false}, // its Size stays 0
		{"DOS stub", 0x10, true},
		{"SizeOfImage", 0x58 + 56, true},
		{".data", 0x300, true},
		{".text", 0x5ff, true},
		{"trailing data", 0x6ff, true},
	} {
		b := synthPE()
		b[tc.off] ^= 0x01
		if got := hexDigest(t, b, crypto.SHA384); (got != base) != tc.changes {
			t.Errorf("%s: digest %s, untouched %s; want changed=%v", tc.name, got, base, tc.changes)
		}
	}
}

// A PE32 image: the directories start 16 bytes earlier, and with no more
// than four of them there is no Certificate Table entry to skip.
func TestPE32FewDirectories(t *testing.T) {
	b := synthPE()
	o := 0x58
	binary.LittleEndian.PutUint16(b[o:], magicPE32)
	binary.LittleEndian.PutUint32(b[o+92:], 4) // NumberOfRvaAndSizes
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if l.PE32Plus || l.Ranges[0] != [2]int{0, 0x98} || l.Ranges[1] != [2]int{0x9c, 0x200} {
		t.Errorf("PE32 layout %x", l.Ranges)
	}
}

func TestParseErrors(t *testing.T) {
	edit := func(f func(b []byte)) []byte {
		b := synthPE()
		f(b)
		return b
	}
	put32 := func(off int, v uint32) []byte {
		return edit(func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) })
	}
	put16 := func(off int, v uint16) []byte {
		return edit(func(b []byte) { binary.LittleEndian.PutUint16(b[off:], v) })
	}
	sec0 := 0x58 + 0xf0
	for _, tc := range []struct {
		name, field, want string
		img               []byte
	}{
		{"empty", "DOS header", `no "MZ"`, nil},
		{"legacy bzImage", "DOS header", `no "MZ"`, bytes.Repeat([]byte{0xff}, 0x400)},
		{"lfanew", "DOS header e_lfanew", "points past the end", put32(0x3c, 0x6f0)},
		{"PE signature", "PE signature", `no "PE\0\0"`, put32(0x40, 0x4551)},
		{"sections", "FileHeader.NumberOfSections", "over the PE/COFF limit of 96", put16(0x46, 97)},
		{"magic", "OptionalHeader.Magic", "0x107 is neither", put16(0x58, 0x107)},
		{"optional header short", "FileHeader.SizeOfOptionalHeader", "ends before NumberOfRvaAndSizes", put16(0x54, 0x60)},
		{"optional header long", "FileHeader.SizeOfOptionalHeader", "runs past the end", put16(0x54, 0xfff0)},
		{"directories", "OptionalHeader.NumberOfRvaAndSizes", "17 directories do not fit", put32(0x58+108, 17)},
		{"headers past file", "OptionalHeader.SizeOfHeaders", "past the end of the 1792-byte file", put32(0x58+60, 0x800)},
		{"headers before table", "OptionalHeader.SizeOfHeaders", "ends before the section table does (0x1c0)", put32(0x58+60, 0x100)},
		{"section past file", `section 0 (".text") PointerToRawData/SizeOfRawData`, "bytes 0x600 to 0x800 run past the end", put32(sec0+20, 0x600)},
		{"certificates", "OptionalHeader.DataDirectory[Security].Size", "more than the 256 bytes after the sections", put32(0x58+112+36, 0x101)},
		{"too large", "file size", "over the 256 MiB limit", make([]byte, MaxImageSize+1)},
	} {
		_, err := Parse(tc.img)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "pass an EFI executable") {
			t.Errorf("%s: got %v, want a FormatError for %s containing %q", tc.name, err, tc.field, tc.want)
		}
	}
	if _, err := Digest(synthPE(), crypto.SHA512); err == nil || !strings.Contains(err.Error(), "use SHA-256 or SHA-384") {
		t.Errorf("SHA-512: got %v", err)
	}
}

// A certificate table that is exactly the bytes after the sections leaves
// no trailing range: that is how a signed image without other trailing
// data looks.
func TestCertificateTableIsTheTail(t *testing.T) {
	b := synthPE()
	binary.LittleEndian.PutUint32(b[0x58+112+32:], 0x600)
	binary.LittleEndian.PutUint32(b[0x58+112+36:], 0x100)
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if last := l.Ranges[len(l.Ranges)-1]; last != [2]int{0x400, 0x600} {
		t.Errorf("last range %#x, want .text and no trailing data", last)
	}
}
