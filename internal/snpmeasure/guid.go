package snpmeasure

import (
	"encoding/hex"
	"strings"
)

// guid is a UEFI GUID as it is stored in firmware: the first three fields
// little-endian, the last eight bytes as written (Python's uuid.bytes_le).
type guid [16]byte

// mustGUID turns the canonical text form into the stored form. It is only
// called on constants, so a typo panics at package init, in every test.
func mustGUID(s string) guid {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 || len(s) != 36 {
		panic("snpmeasure: bad GUID constant " + s)
	}
	var g guid
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	copy(g[8:], b[8:])
	return g
}

// String gives the canonical text form, for error messages.
func (g guid) String() string {
	b := []byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	b = append(b, g[8:]...)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// The GUIDs of edk2's reset-vector footer table (OvmfPkg/ResetVector/Ia16/
// ResetVectorVtf0.asm) and of QEMU's SEV hashes table (target/i386/sev.c).
var (
	guidFooterTable   = mustGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
	guidSEVHashTable  = mustGUID("7255371f-3a3b-4b04-927b-1da6efa8d454")
	guidSEVESReset    = mustGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
	guidSEVMetadata   = mustGUID("dc886566-984a-4798-a75e-5585a7bf67cc")
	guidHashesTable   = mustGUID("9438d606-4f22-4cc9-b479-a793d411fd21")
	guidHashesCmdline = mustGUID("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
	guidHashesInitrd  = mustGUID("44baf731-3a2f-4bd7-9af1-41e29169781d")
	guidHashesKernel  = mustGUID("4de79437-abd2-427f-b835-d5b172d2045b")
)
