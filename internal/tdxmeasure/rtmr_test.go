package tdxmeasure

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	synthKernelPath = filepath.Join("..", "authenticode", "testdata", "synthetic.efi")
	tinyInitrdPath  = filepath.Join("testdata", "tiny_initrd")
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func synthBoot(t *testing.T) DirectBoot {
	return DirectBoot{Kernel: readFile(t, synthKernelPath), Initrd: readFile(t, tinyInitrdPath), Cmdline: "console=hvc0 quiet"}
}

func TestDirectBootVectors(t *testing.T) {
	r, err := MeasureDirectBoot(synthBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.RTMR1 != synthRTMR1 || r.RTMR2 != synthRTMR2 {
		t.Errorf("got %+v, want RTMR1 %s, RTMR2 %s", r, synthRTMR1, synthRTMR2)
	}
	// No initrd and no command line: OVMF gives no LoadOptions and the
	// stub measures nothing, so RTMR[2] stays zero; RTMR[1] does not move.
	b := synthBoot(t)
	b.Initrd, b.Cmdline = nil, ""
	if r, err = MeasureDirectBoot(b); err != nil || r.RTMR1 != synthRTMR1 || r.RTMR2 != strings.Repeat("0", 96) {
		t.Errorf("bare kernel: got %+v, %v", r, err)
	}
}

// The event list, digest by digest, restated from the sources without the
// package's helpers.
func TestDirectBootEvents(t *testing.T) {
	events, err := DirectBootEvents(synthBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	utf16 := func(s string) []byte {
		var b []byte
		for _, c := range s {
			b = append(b, byte(c), 0)
		}
		return append(b, 0, 0)
	}
	k, _ := hex.DecodeString(synthKernelSHA384)
	want := []struct {
		rtmr   int
		digest []byte
	}{
		{1, k},
		{1, sum384([]byte("Calling EFI Application from Boot Option"))},
		{1, sum384([]byte{0, 0, 0, 0})},
		{2, sum384(utf16("console=hvc0 quiet initrd=initrd"))},
		{2, sum384(readFile(t, tinyInitrdPath))},
		{1, sum384([]byte("Exit Boot Services Invocation"))},
		{1, sum384([]byte("Exit Boot Services Returned with Success"))},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(events), len(want), events)
	}
	for i, w := range want {
		if events[i].RTMR != w.rtmr || !bytes.Equal(events[i].Digest[:], w.digest) {
			t.Errorf("event %d (%s): RTMR[%d] %x, want RTMR[%d] %x", i, events[i].Name, events[i].RTMR, events[i].Digest, w.rtmr, w.digest)
		}
	}
	// The extend rule, once by hand.
	var r1 []byte = make([]byte, 48)
	for _, w := range want {
		if w.rtmr == 1 {
			r1 = sum384(append(r1, w.digest...))
		}
	}
	if got := Replay(events); hex.EncodeToString(got[1][:]) != hex.EncodeToString(r1) || got[0] != [48]byte{} || got[3] != [48]byte{} {
		t.Errorf("Replay: %x, want RTMR[1] %x and RTMR[0], RTMR[3] untouched", got, r1)
	}
}

func sum384(b []byte) []byte { d := sha512.Sum384(b); return d[:] }

// Each input moves only its own register: the kernel RTMR[1], the initrd
// and the command line RTMR[2]. The CheckSum field of the PE header is
// outside the Authenticode digest, so it moves nothing.
func TestDirectBootTamper(t *testing.T) {
	base, err := MeasureDirectBoot(synthBoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		edit       func(*DirectBoot)
		rtmr1, two bool
	}{
		{"kernel .text byte", func(b *DirectBoot) { b.Kernel[0x500] ^= 1 }, true, false},
		{"kernel CheckSum", func(b *DirectBoot) { b.Kernel[0x98] ^= 1 }, false, false},
		{"initrd byte", func(b *DirectBoot) { b.Initrd[3] ^= 1 }, false, true},
		{"initrd one byte longer", func(b *DirectBoot) { b.Initrd = append(b.Initrd, 0) }, false, true},
		{"command line space", func(b *DirectBoot) { b.Cmdline += " " }, false, true},
		{"no initrd", func(b *DirectBoot) { b.Initrd = nil }, false, true},
	} {
		b := synthBoot(t)
		tc.edit(&b)
		got, err := MeasureDirectBoot(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (got.RTMR1 != base.RTMR1) != tc.rtmr1 || (got.RTMR2 != base.RTMR2) != tc.two {
			t.Errorf("%s: %+v, untouched %+v; want RTMR1 changed=%v, RTMR2 changed=%v", tc.name, got, base, tc.rtmr1, tc.two)
		}
	}
}

func TestDirectBootErrors(t *testing.T) {
	legacy := bytes.Repeat([]byte{0xff}, 0x1000) // guestforge's non-EFI bzImage starts like this
	notApp := readFile(t, synthKernelPath)
	notApp[0x58+68] = 11 // Subsystem: boot service driver
	for _, tc := range []struct {
		name string
		b    DirectBoot
		want string
	}{
		{"legacy bzImage", DirectBoot{Kernel: legacy}, "kernel: it has no EFI stub"},
		{"driver", DirectBoot{Kernel: notApp}, "Subsystem 11; TDVF boots an x86-64 (0x8664) EFI application"},
		{"damaged PE", DirectBoot{Kernel: readFile(t, synthKernelPath)[:0x300]}, "kernel: PE/COFF image: section 0"},
		{"non-ASCII", DirectBoot{Kernel: readFile(t, synthKernelPath), Cmdline: "quiet é"}, "byte 6 is 0xc3; the kernel command line must be ASCII"},
		{"NUL", DirectBoot{Kernel: readFile(t, synthKernelPath), Cmdline: "a\x00b"}, "byte 1 is 0x0"},
		{"long command line", DirectBoot{Kernel: readFile(t, synthKernelPath), Cmdline: strings.Repeat("a", MaxCmdlineSize+1)}, "over the 64 KiB limit"},
		{"kernel too large", DirectBoot{Kernel: make([]byte, MaxKernelSize+1)}, "kernel: 268435457 bytes is over the 256 MiB limit"},
	} {
		_, err := MeasureDirectBoot(tc.b)
		var be *BootError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a BootError containing %q", tc.name, err, tc.want)
		}
	}
}

func TestMeasureFiles(t *testing.T) {
	ovmf := filepath.Join("testdata", "synthetic_tdvf.bin")
	v, err := MeasureFiles(Files{OVMF: ovmf, Kernel: synthKernelPath, Initrd: tinyInitrdPath, Append: "console=hvc0 quiet", AppendSet: true})
	if err != nil || v.MRTD != synthPerPage || v.RTMRs == nil || *v.RTMRs != (RTMRs{synthRTMR1, synthRTMR2}) {
		t.Errorf("got %+v, %v", v, err)
	}
	if v, err = MeasureFiles(Files{OVMF: ovmf}); err != nil || v.MRTD != synthPerPage || v.RTMRs != nil {
		t.Errorf("firmware alone: got %+v, %v", v, err)
	}
	if v, err = MeasureFiles(Files{OVMF: ovmf, PageOrder: "Two-Pass"}); err != nil || v.MRTD != synthTwoPass {
		t.Errorf("two-pass: got %+v, %v; want %s", v, err, synthTwoPass)
	}
	for _, tc := range []struct {
		in   Files
		want string
	}{
		{Files{OVMF: ovmf, Kernel: synthKernelPath}, "--kernel needs --append"},
		{Files{OVMF: ovmf, Initrd: tinyInitrdPath}, "pass --kernel too"},
		{Files{OVMF: ovmf, AppendSet: true}, "pass --kernel too"},
		{Files{OVMF: ovmf, Kernel: ovmf, AppendSet: true}, "synthetic_tdvf.bin: kernel: it has no EFI stub"},
		{Files{OVMF: ovmf, Kernel: synthKernelPath, Initrd: "testdata", AppendSet: true}, "testdata"},
		{Files{OVMF: ovmf, PageOrder: "batched"}, "pass per-page"},
		{Files{OVMF: "testdata"}, "testdata"},
	} {
		if _, err := MeasureFiles(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.in, err, tc.want)
		}
	}
}
