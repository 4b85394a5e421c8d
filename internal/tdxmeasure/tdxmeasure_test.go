package tdxmeasure

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The synthetic TDVF (testdata/README.md): 8 pages at 0xFFFF8000, a CFV
// page pair, a measured BFV of six pages whose last page holds the TDVF
// descriptor and the footer table, and a TD HOB and temporary memory that
// QEMU zero-fills.
const (
	synthSize  = 8 * pageSize
	synthDesc  = synthSize - pageSize + 0x100 // the descriptor's file offset
	synthFWGPA = 1<<32 - synthSize
)

var synthSections = []Section{
	{DataOffset: 0, RawDataSize: 0x2000, MemoryAddress: synthFWGPA, MemoryDataSize: 0x2000, Type: SectionCFV},
	{DataOffset: 0x2000, RawDataSize: 0x6000, MemoryAddress: synthFWGPA + 0x2000, MemoryDataSize: 0x6000, Type: SectionBFV, Attributes: AttrMRExtend},
	{MemoryAddress: 0x809000, MemoryDataSize: 0x2000, Type: SectionTDHOB},
	{MemoryAddress: 0x800000, MemoryDataSize: 0x6000, Type: SectionTempMem},
}

// synthTDVF lays out an image from the TDX Virtual Firmware Design Guide's
// structures and edk2's footer table; it is how testdata/synthetic_tdvf.bin
// was made.
func synthTDVF(sections []Section) []byte {
	img := make([]byte, synthSize)
	for i := range img {
		img[i] = byte(i*7 + i>>8 + 3) // no two 256-byte chunks alike
	}
	d := img[synthDesc:]
	copy(d, "TDVF")
	binary.LittleEndian.PutUint32(d[4:], uint32(descriptorSize+len(sections)*sectionSize))
	binary.LittleEndian.PutUint32(d[8:], 1)
	binary.LittleEndian.PutUint32(d[12:], uint32(len(sections)))
	for i, s := range sections {
		e := d[descriptorSize+i*sectionSize:]
		binary.LittleEndian.PutUint32(e, s.DataOffset)
		binary.LittleEndian.PutUint32(e[4:], s.RawDataSize)
		binary.LittleEndian.PutUint64(e[8:], s.MemoryAddress)
		binary.LittleEndian.PutUint64(e[16:], s.MemoryDataSize)
		binary.LittleEndian.PutUint32(e[24:], uint32(s.Type))
		binary.LittleEndian.PutUint32(e[28:], s.Attributes)
	}
	// Footer table, read backwards from 32 bytes before the end: the TDX
	// metadata offset entry (u32, u16 size 22, GUID), then the footer entry
	// (u16 size covering both, GUID).
	end := synthSize - footerEndFromImageEnd
	t := img[end-2*footerEntryHeader-4 : end]
	binary.LittleEndian.PutUint32(t, uint32(synthSize-synthDesc))
	binary.LittleEndian.PutUint16(t[4:], footerEntryHeader+4)
	copy(t[6:], guidTDXMetadataOff[:])
	binary.LittleEndian.PutUint16(t[22:], 2*footerEntryHeader+4)
	copy(t[24:], guidFooterTable[:])
	return img
}

// oracleMRTD is a second, deliberately plain statement of the TDX module's
// rule: list every record QEMU's calls produce, concatenate, hash once.
func oracleMRTD(img []byte, sections []Section, twoPass bool) [48]byte {
	var stream []byte
	rec := func(op string, gpa uint64) {
		r := make([]byte, 128)
		copy(r, op)
		binary.LittleEndian.PutUint64(r[16:], gpa)
		stream = append(stream, r...)
	}
	ext := func(s Section, page uint64) {
		for c := uint64(0); c < 16; c++ {
			off := uint64(s.DataOffset) + page*4096 + c*256
			rec("MR.EXTEND", s.MemoryAddress+page*4096+c*256)
			stream = append(stream, img[off:off+256]...)
		}
	}
	for _, s := range sections {
		n := s.MemoryDataSize / 4096
		for p := uint64(0); p < n; p++ {
			rec("MEM.PAGE.ADD", s.MemoryAddress+p*4096)
			if !twoPass && s.Attributes&1 != 0 {
				ext(s, p)
			}
		}
		for p := uint64(0); twoPass && s.Attributes&1 != 0 && p < n; p++ {
			ext(s, p)
		}
	}
	return sha512.Sum384(stream)
}

func hexOf(d [48]byte) string { return hex.EncodeToString(d[:]) }

func parse(t *testing.T, img []byte) *Firmware {
	t.Helper()
	f, err := ParseFirmware(img)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The committed fixture is exactly what synthTDVF builds, so the values below
// can be re-derived from the file by any other tool.
func TestSyntheticFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "synthetic_tdvf.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, synthTDVF(synthSections)) {
		t.Fatal("testdata/synthetic_tdvf.bin differs from synthTDVF(synthSections)")
	}
	f := parse(t, b)
	if len(f.Sections) != len(synthSections) {
		t.Fatalf("sections %v, want %v", f.Sections, synthSections)
	}
	for i := range f.Sections {
		if f.Sections[i] != synthSections[i] {
			t.Errorf("section %d is %+v, want %+v", i, f.Sections[i], synthSections[i])
		}
	}
}

// The expected values come from running the MRTD walk of two upstream
// tools on testdata/synthetic_tdvf.bin (testdata/README.md), and the oracle
// checks them from the rule itself.
func TestMRTDVectors(t *testing.T) {
	img := synthTDVF(synthSections)
	f := parse(t, img)
	for _, tc := range []struct {
		order PageOrder
		want  string
	}{
		{PerPage, synthPerPage},
		{TwoPass, synthTwoPass},
	} {
		got := hexOf(MRTD(f, tc.order))
		if got != tc.want {
			t.Errorf("%s: MRTD %s, want %s", tc.order, got, tc.want)
		}
		if o := hexOf(oracleMRTD(img, synthSections, tc.order == TwoPass)); got != o {
			t.Errorf("%s: MRTD %s, the oracle gives %s", tc.order, got, o)
		}
	}
}

// One byte of a measured section moves MRTD; one byte of an unmeasured
// section (the CFV, which TDVF measures into RTMR[0] itself) does not, and
// neither do bytes outside every section's data. Moving a zero-filled
// section does, because its pages are still added at their GPAs.
func TestMRTDTamper(t *testing.T) {
	base := hexOf(MRTD(parse(t, synthTDVF(synthSections)), PerPage))
	for _, tc := range []struct {
		name    string
		mutate  func([]byte) []byte
		changes bool
	}{
		{"BFV first byte", func(b []byte) []byte { b[0x2000] ^= 1; return b }, true},
		{"BFV byte in the reset-vector tail", func(b []byte) []byte { b[synthSize-16] ^= 0x80; return b }, true},
		{"CFV byte", func(b []byte) []byte { b[0x1234] ^= 1; return b }, false},
		{"TD HOB moved one page", func([]byte) []byte {
			s := append([]Section(nil), synthSections...)
			s[2].MemoryAddress += pageSize
			return synthTDVF(s)
		}, true},
		{"CFV marked MR_EXTEND", func([]byte) []byte {
			s := append([]Section(nil), synthSections...)
			s[0].Attributes = AttrMRExtend
			return synthTDVF(s)
		}, true},
	} {
		img := tc.mutate(synthTDVF(synthSections))
		got := hexOf(MRTD(parse(t, img), PerPage))
		if (got != base) != tc.changes {
			t.Errorf("%s: MRTD %s, untouched %s; want changed=%v", tc.name, got, base, tc.changes)
		}
	}
}

// A real edk2 build: the last 4 KiB of edk2-stable202405's OvmfPkgX64
// (internal/snpmeasure/testdata) carries the footer table and the TDVF
// descriptor. Its sections are read, and since the BFV lies in the
// missing part of the file the error says the file is cut.
func TestRealEdk2Metadata(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "snpmeasure", "testdata", "ovmf_OvmfX64_suffix.bin"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseFirmware(b)
	want := "TDVF section 0 (BFV at 0xffc84000, 0x37c000 bytes) takes image bytes 0x84000 to 0x400000, but the image is only 4096 bytes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}

func TestParseFirmwareErrors(t *testing.T) {
	withSections := func(edit func([]Section) []Section) []byte {
		return synthTDVF(edit(append([]Section(nil), synthSections...)))
	}
	put32 := func(off int, v uint32) []byte {
		b := synthTDVF(synthSections)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	entryGUID := synthSize - footerEndFromImageEnd - 2*footerEntryHeader + 2
	for _, tc := range []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "the file is empty"},
		{"not pages", make([]byte, 5000), "not a whole number of 4 KiB pages"},
		{"too large", make([]byte, MaxFirmwareSize+pageSize), "over the 64 MiB limit"},
		{"no footer table", make([]byte, pageSize), "no footer table GUID 96b582de"},
		{"no TDX entry", func() []byte {
			b := synthTDVF(synthSections)
			b[entryGUID] ^= 0xff // the entry is now of an unknown GUID
			return b
		}(), "built without TDX support and cannot launch a TD"},
		{"offset outside", put32(synthSize-footerEndFromImageEnd-2*footerEntryHeader-4, synthSize+16), "outside the 32768-byte image"},
		{"signature", put32(synthDesc, 0x46564453), `no "TDVF" signature`},
		{"version", put32(synthDesc+8, 2), "version 2; only version 1"},
		{"one section", withSections(func(s []Section) []Section { return s[1:2] }), "declares 1 sections; 2 to 64"},
		{"length", put32(synthDesc+4, 16), "claims 16 bytes; 4 sections take 144"},
		{"type", withSections(func(s []Section) []Section { s[3].Type = 4; return s }), "type 4; QEMU accepts only"},
		{"PAGE_AUG", withSections(func(s []Section) []Section { s[3].Attributes = 2; return s }), "attributes 0x2; only MR_EXTEND"},
		{"unaligned", withSections(func(s []Section) []Section { s[2].MemoryAddress += 16; return s }), "not whole, aligned pages"},
		{"zero size", withSections(func(s []Section) []Section { s[2].MemoryDataSize = 0; return s }), "not whole, aligned pages"},
		{"wraps", withSections(func(s []Section) []Section { s[2].MemoryAddress = 1<<64 - pageSize; return s }), "52-bit guest address space"},
		{"raw over memory", withSections(func(s []Section) []Section { s[0].RawDataSize = 0x3000; return s }), "more than its memory"},
		{"HOB with data", withSections(func(s []Section) []Section { s[2].RawDataSize = 0x1000; return s }), "QEMU zero-fills this type"},
		{"BFV without data", withSections(func(s []Section) []Section { s[1].RawDataSize = 0; return s }), "has no data in the image"},
		{"measured partly", withSections(func(s []Section) []Section { s[1].RawDataSize = 0x5000; return s }), "only 0x5000 of its bytes are image data"},
		{"past the image", withSections(func(s []Section) []Section { s[1].DataOffset = 0x3000; return s }), "takes image bytes 0x3000 to 0x9000"},
		{"overlap", withSections(func(s []Section) []Section { s[3].MemoryAddress = 0x808000; return s }), "overlaps section 2"},
		{"too many pages", withSections(func(s []Section) []Section { s[3].MemoryDataSize = 1 << 31; return s }), "more than 262144 pages"},
	} {
		_, err := ParseFirmware(tc.img)
		var fe *FirmwareError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a FirmwareError containing %q", tc.name, err, tc.want)
		}
	}
}
