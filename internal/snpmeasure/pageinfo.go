package snpmeasure

import (
	"crypto/sha512"
	"encoding/binary"
)

// Page types of SNP_LAUNCH_UPDATE (AMD pub. 56860, "PAGE_INFO").
const (
	pageNormal     = 1
	pageVMSA       = 2
	pageZero       = 3
	pageUnmeasured = 4
	pageSecrets    = 5
	pageCPUID      = 6
)

const (
	pageInfoSize = 0x70
	// vmsaGPA is where the PSP records every VMSA page: the VMSA has no
	// guest address, and the ABI measures it at the highest page-aligned
	// address below 2^52.
	vmsaGPA = 0xFFFFFFFFF000
)

// launchDigest is the running SNP measurement: every page the VMM adds
// replaces it with SHA-384 over a PAGE_INFO record that holds the previous
// value, so the order of the pages is part of the result.
type launchDigest [sha512.Size384]byte

// add measures one page. contents is the SHA-384 of the page for normal and
// VMSA pages; for the other types the PSP fills or zeroes the page itself and
// the record holds zeros.
func (ld *launchDigest) add(pageType byte, gpa uint64, contents *[sha512.Size384]byte) {
	var rec [pageInfoSize]byte
	copy(rec[0:48], ld[:])
	if contents != nil {
		copy(rec[48:96], contents[:])
	}
	binary.LittleEndian.PutUint16(rec[96:], pageInfoSize)
	rec[98] = pageType
	// rec[99] is_imi, rec[100:103] the VMPL permissions and rec[103] stay
	// zero: a VMM launching an ordinary guest sets none of them.
	binary.LittleEndian.PutUint64(rec[104:], gpa)
	*ld = sha512.Sum384(rec[:])
}

// addNormal measures data (whole pages) as normal pages starting at gpa.
func (ld *launchDigest) addNormal(gpa uint64, data []byte) {
	for off := 0; off < len(data); off += pageSize {
		sum := sha512.Sum384(data[off : off+pageSize])
		ld.add(pageNormal, gpa+uint64(off), &sum)
	}
}

// addEach measures size bytes from gpa as pages of one content-less type.
func (ld *launchDigest) addEach(pageType byte, gpa uint64, size uint32) {
	for off := uint64(0); off < uint64(size); off += pageSize {
		ld.add(pageType, gpa+off, nil)
	}
}
