package snpmeasure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseFixtures pins what the two edk2-stable202405 suffixes declare
// (docs/research/reference-values.md §1.1 lists the same values).
func TestParseFixtures(t *testing.T) {
	f := firmware(t, amdSev)
	if f.ResetEIP != 0x80B004 || f.HashTableGPA != 0x810C00 || f.HashTableSize != 0x400 {
		t.Errorf("AmdSev: reset EIP %#x, hash table %#x+%#x", f.ResetEIP, f.HashTableGPA, f.HashTableSize)
	}
	want := []Section{
		{0x800000, 0x9000, SectionSecMem}, {0x80A000, 0x3000, SectionSecMem},
		{0x80D000, 0x1000, SectionSecrets}, {0x80E000, 0x1000, SectionCPUID},
		{0x80F000, 0x1000, SectionSVSMCAA}, {0x810000, 0x1000, SectionKernelHashes},
		{0x811000, 0xF000, SectionSecMem},
	}
	if !equalSections(f.Sections, want) {
		t.Errorf("AmdSev sections %v, want %v", f.Sections, want)
	}
	if f.GPA() != 0xFFFFF000 {
		t.Errorf("GPA %#x", f.GPA())
	}
	x := firmware(t, ovmfX64)
	if x.ResetEIP != 0x80B004 || x.HashTableGPA != 0 || x.HasSection(SectionKernelHashes) || len(x.Sections) != 6 {
		t.Errorf("OvmfX64: reset EIP %#x, hash table %#x, sections %v", x.ResetEIP, x.HashTableGPA, x.Sections)
	}
}

func equalSections(a, b []Section) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// entryData finds a footer-table entry in an image by its GUID and returns
// the offset of its data, so a test can damage exactly that field.
func entryData(t *testing.T, img []byte, g guid, n int) int {
	t.Helper()
	i := bytes.Index(img, g[:])
	if i < 2+n {
		t.Fatalf("entry %s not found", g)
	}
	return i - 2 - n
}

func TestParseFirmwareRefusesDamage(t *testing.T) {
	good := fixture(t, amdSev)
	metaAt := len(good) - 0x554 // the "ASEV" header
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"empty", func([]byte) []byte { return nil }, "the file is empty"},
		{"not whole pages", func(b []byte) []byte { return b[1:] }, "not a whole number of 4 KiB pages"},
		{"too large", func([]byte) []byte { return make([]byte, MaxFirmwareSize+pageSize) }, "over the 64 MiB limit"},
		{"no footer", func(b []byte) []byte { return make([]byte, len(b)) }, "no footer table GUID"},
		{"footer size past the start", func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[len(b)-50:], 0xFFFF)
			return b
		}, "does not fit before it"},
		{"entry size too small", func(b []byte) []byte {
			at := entryData(t, b, guidSEVMetadata, 4)
			binary.LittleEndian.PutUint16(b[at+4:], 3)
			return b
		}, "claims 3 bytes"},
		{"metadata outside the image", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[entryData(t, b, guidSEVMetadata, 4):], 0x10000)
			return b
		}, "outside the 4096-byte image"},
		{"metadata signature", func(b []byte) []byte { b[metaAt] = 'X'; return b }, `no "ASEV" signature`},
		{"metadata version", func(b []byte) []byte { b[metaAt+8] = 2; return b }, "version 2"},
		{"too many sections", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+12:], 1000)
			return b
		}, "declares 1000 sections"},
		{"sections past the metadata", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+12:], 8)
			return b
		}, "claims"},
		{"unaligned section", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+16:], 0x800010)
			return b
		}, "not whole, aligned pages"},
		{"unknown section type", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+16+8:], 9)
			return b
		}, "unknown type 0x9"},
		{"section past 4 GiB", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+16:], 0xFFFFF000)
			binary.LittleEndian.PutUint32(b[metaAt+16+4:], 0x2000)
			return b
		}, "runs past 4 GiB"},
		{"sections cover too much", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[metaAt+16+4:], 0x7FFFF000)
			binary.LittleEndian.PutUint32(b[metaAt+16+12+4:], 0x7FFFF000)
			binary.LittleEndian.PutUint32(b[metaAt+16+12:], 0)
			binary.LittleEndian.PutUint32(b[metaAt+16:], 0)
			return b
		}, "more than 262144 pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.damage(bytes.Clone(good))
			_, err := ParseFirmware(img)
			var fe *FirmwareError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a FirmwareError containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "AmdSevX64.dsc") {
				t.Errorf("the error does not say what to pass instead: %v", err)
			}
		})
	}
}

// The acceptance criterion of issue 16: one byte of the kernel, the initrd
// or the command line changes the digest.
func TestDirectBootInputsAreMeasured(t *testing.T) {
	fw := firmware(t, amdSev)
	digest := func(b *DirectBoot) [48]byte {
		t.Helper()
		d, err := SNP(Launch{Firmware: fw, Boot: b, VCPUs: 2, CPUSignature: 0xA10F10, GuestFeatures: 0x21})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	kernel, initrd, cmdline := []byte("kernel bytes"), []byte("initrd bytes"), "console=hvc0 quiet"
	ref := digest(NewDirectBoot(kernel, initrd, cmdline))
	if ref == digest(nil) {
		t.Fatal("a measured direct boot gives the firmware-only digest")
	}
	for name, b := range map[string]*DirectBoot{
		"kernel":  NewDirectBoot([]byte("kernel bytez"), initrd, cmdline),
		"initrd":  NewDirectBoot(kernel, []byte("initrd bytez"), cmdline),
		"cmdline": NewDirectBoot(kernel, initrd, "console=hvc0 quieT"),
	} {
		if digest(b) == ref {
			t.Errorf("one byte of the %s did not change the digest", name)
		}
	}
}

func TestLaunchChecks(t *testing.T) {
	fw := firmware(t, amdSev)
	for _, tc := range []struct {
		name string
		l    Launch
		want string
	}{
		{"no vCPUs", Launch{Firmware: fw}, "0 vCPUs: pass between 1 and 4096"},
		{"too many vCPUs", Launch{Firmware: fw, VCPUs: MaxVCPUs + 1}, "4097 vCPUs"},
		{"no firmware", Launch{VCPUs: 1}, "no OVMF image"},
		{"APs without reset block", Launch{Firmware: &Firmware{data: fw.data, Sections: fw.Sections}, VCPUs: 2},
			"no SEV-ES reset block"},
		{"no metadata", Launch{Firmware: &Firmware{data: fw.data}, VCPUs: 1}, "no SEV metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SNP(tc.l); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzParseFirmware holds that no image, however damaged, makes the parser
// panic or hand back sections the digest loop would have to guess about.
func FuzzParseFirmware(f *testing.F) {
	f.Add(fixture(f, amdSev))
	f.Add(fixture(f, ovmfX64))
	f.Fuzz(func(t *testing.T, img []byte) {
		fw, err := ParseFirmware(img)
		if err != nil {
			return
		}
		pages := 0
		for _, s := range fw.Sections {
			if s.GPA%pageSize != 0 || s.Size == 0 || s.Size%pageSize != 0 || uint64(s.GPA)+uint64(s.Size) > fourGiB {
				t.Fatalf("accepted section %+v", s)
			}
			pages += int(s.Size / pageSize)
		}
		if pages > maxMeasuredPages || len(fw.Sections) > maxMetadataSections {
			t.Fatalf("accepted %d sections over %d pages", len(fw.Sections), pages)
		}
		// Whatever the parser accepts, the digest either refuses with a
		// reason or computes; it never indexes outside a page. Small
		// images only, to keep the fuzzer fast.
		if pages <= 64 {
			for _, boot := range []*DirectBoot{nil, emptyBoot("x")} {
				_, _ = SNP(Launch{Firmware: fw, Boot: boot, VCPUs: 2, VMM: EC2})
				_, _ = SEVES(Launch{Firmware: fw, Boot: boot, VCPUs: 2})
			}
		}
	})
}
