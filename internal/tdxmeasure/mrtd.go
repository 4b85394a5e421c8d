package tdxmeasure

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
)

// mrExtendChunk is what one TDH.MR.EXTEND measures (TDX module ABI).
const mrExtendChunk = 256

// PageOrder is the order in which the host adds and extends a section's
// pages. It is the host kernel's choice, not the firmware's, and it changes
// MRTD.
type PageOrder int

const (
	// PerPage is upstream KVM (Linux 6.16 and later, with QEMU 10.1 or later):
	// KVM_TDX_INIT_MEM_REGION handles one page at a time, TDH.MEM.PAGE.ADD
	// and then, for a measured section, the page's 16 TDH.MR.EXTEND calls
	// (tdx_gmem_post_populate in arch/x86/kvm/vmx/tdx.c).
	PerPage PageOrder = iota
	// TwoPass adds every page of a section first and extends them after,
	// as some pre-upstream TDX host stacks did. dstack-mr
	// (Dstack-TEE/dstack) models both orders with the same names.
	TwoPass
)

func (o PageOrder) String() string {
	if o == TwoPass {
		return "two-pass"
	}
	return "per-page"
}

// ParsePageOrder accepts the names String gives.
func ParsePageOrder(s string) (PageOrder, error) {
	switch strings.ToLower(s) {
	case "per-page", "":
		return PerPage, nil
	case "two-pass":
		return TwoPass, nil
	}
	return 0, fmt.Errorf("page order %q is not known: pass per-page (upstream KVM, Linux 6.16+) or two-pass (older out-of-tree TDX hosts)", s)
}

// MRTD is what the TDX module holds in MRTD after QEMU added the firmware's
// sections in metadata order (tdx_init_fw_mem_region in QEMU's
// target/i386/kvm/tdx.c) and KVM finalized the TD. MRTD is one SHA-384 over
// a stream of 128-byte records (Intel TDX Module ABI, TDH.MEM.PAGE.ADD and
// TDH.MR.EXTEND): "MEM.PAGE.ADD" or "MR.EXTEND" at offset 0, the GPA as a
// little-endian u64 at offset 16, zeros elsewhere; each MR.EXTEND record is
// followed by the 256 measured bytes.
func MRTD(f *Firmware, order PageOrder) [sha512.Size384]byte {
	h := sha512.New384()
	for _, s := range f.Sections {
		pages := s.MemoryDataSize / pageSize
		switch order {
		case TwoPass:
			for p := range pages {
				record(h, "MEM.PAGE.ADD", s.MemoryAddress+p*pageSize)
			}
			if s.Measured() {
				for p := range pages {
					f.extendPage(h, s, p)
				}
			}
		default:
			for p := range pages {
				record(h, "MEM.PAGE.ADD", s.MemoryAddress+p*pageSize)
				if s.Measured() {
					f.extendPage(h, s, p)
				}
			}
		}
	}
	var d [sha512.Size384]byte
	h.Sum(d[:0])
	return d
}

func (f *Firmware) extendPage(h hash.Hash, s Section, page uint64) {
	// ParseFirmware checked that a measured section is all image bytes.
	src := f.data[uint64(s.DataOffset)+page*pageSize:][:pageSize]
	for c := uint64(0); c < pageSize; c += mrExtendChunk {
		record(h, "MR.EXTEND", s.MemoryAddress+page*pageSize+c)
		h.Write(src[c : c+mrExtendChunk])
	}
}

func record(h hash.Hash, op string, gpa uint64) {
	var b [128]byte
	copy(b[:], op)
	binary.LittleEndian.PutUint64(b[16:], gpa)
	h.Write(b[:])
}
