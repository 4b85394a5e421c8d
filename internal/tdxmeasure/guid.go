package tdxmeasure

import (
	"encoding/hex"
	"strings"
)

// guid is a UEFI GUID in its stored form: the first three fields
// little-endian, the last eight bytes as written.
type guid [16]byte

// mustGUID converts the canonical text form. It only ever sees constants, so
// a typo panics at package init, in every test.
func mustGUID(s string) guid {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || len(s) != 36 {
		panic("tdxmeasure: bad GUID constant " + s)
	}
	return guid{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6],
		b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
}

// String gives the canonical text form, for error messages.
func (g guid) String() string {
	b := []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	h := hex.EncodeToString(append(b, g[8:]...))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// The reset-vector footer table (edk2 OvmfPkg/ResetVector/Ia16/
// ResetVectorVtf0.asm) and its entry that gives the TDVF descriptor's offset
// (the same file; QEMU looks it up in hw/i386/tdvf.c).
var (
	guidFooterTable    = mustGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
	guidTDXMetadataOff = mustGUID("e47a6535-984a-4798-865e-4685a7bf8ec2")
)
