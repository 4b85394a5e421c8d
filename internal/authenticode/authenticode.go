// Package authenticode computes the Authenticode digest of a PE/COFF image:
// the hash a code signature signs (SpcIndirectDataContent's messageDigest)
// and the one edk2 extends into a TPM PCR or a TDX RTMR when it loads an EFI
// application (EV_EFI_BOOT_SERVICES_APPLICATION).
//
// The rule is the PE/COFF specification's "Calculating the PE Image Hash",
// as edk2 implements it (OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c,
// MeasurePeImageAndExtend): the headers up to SizeOfHeaders without the
// CheckSum field and the Certificate Table directory entry; every section
// with raw data, in PointerToRawData order; then the bytes after the last
// hashed byte, except the certificate table's size at the end. Nothing is
// padded: edk2 does not pad, so a digest that padded would not match an
// RTMR.
package authenticode

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
)

// MaxImageSize bounds the image. A Linux bzImage is 10 to 20 MiB; the cap
// keeps a disk image passed by mistake from being hashed.
const MaxImageSize = 256 << 20

// maxSections is the PE/COFF specification's limit for NumberOfSections
// in an image.
const maxSections = 96

const (
	dosLfanew     = 0x3c
	coffSize      = 20
	sectionSize   = 40
	magicPE32     = 0x10b
	magicPE32Plus = 0x20b
	// Offsets inside the optional header, the same for PE32 and PE32+ up
	// to CheckSum.
	optSizeOfHeaders = 60
	optCheckSum      = 64
	optSubsystem     = 68
	dirSecurity      = 4 // IMAGE_DIRECTORY_ENTRY_SECURITY
)

// FormatError says which field of the image is wrong.
type FormatError struct {
	Field  string // the PE/COFF field, e.g. "OptionalHeader.SizeOfHeaders"
	Reason string
}

func (e *FormatError) Error() string {
	return "PE/COFF image: " + e.Field + ": " + e.Reason +
		": pass an EFI executable (a Linux bzImage built with CONFIG_EFI_STUB), whole and unmodified"
}

func bad(field, format string, args ...any) error {
	return &FormatError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Layout is what the digest walks: the byte ranges hashed, in order.
type Layout struct {
	PE32Plus bool
	// Machine is FileHeader.Machine (0x8664 for x86-64) and Subsystem
	// OptionalHeader.Subsystem (10 for an EFI application): firmware picks
	// the loader and the measurement's event type from them.
	Machine, Subsystem uint16
	// Ranges are [start, end) file offsets, in the order they are hashed.
	Ranges [][2]int
}

// Parse checks data as a PE/COFF image and returns the ranges the digest
// covers. It refuses anything it would have to guess about: fields that
// point outside the file, a section table past SizeOfHeaders, a certificate
// table larger than the bytes after the sections.
func Parse(data []byte) (*Layout, error) {
	n := len(data)
	if n > MaxImageSize {
		return nil, bad("file size", "%d bytes is over the %d MiB limit", n, MaxImageSize>>20)
	}
	if n < dosLfanew+4 || data[0] != 'M' || data[1] != 'Z' {
		return nil, bad("DOS header", "no \"MZ\" signature at offset 0")
	}
	pe := int(binary.LittleEndian.Uint32(data[dosLfanew:]))
	if pe > n-4-coffSize {
		return nil, bad("DOS header e_lfanew", "%#x points past the end of the %d-byte file", pe, n)
	}
	if string(data[pe:pe+4]) != "PE\x00\x00" {
		return nil, bad("PE signature", "no \"PE\\0\\0\" at e_lfanew %#x (found %q)", pe, data[pe:pe+4])
	}
	coff := pe + 4
	nsec := int(binary.LittleEndian.Uint16(data[coff+2:]))
	optSize := int(binary.LittleEndian.Uint16(data[coff+16:]))
	opt := coff + coffSize
	if nsec > maxSections {
		return nil, bad("FileHeader.NumberOfSections", "%d is over the PE/COFF limit of %d", nsec, maxSections)
	}
	if opt+2 > n || optSize < 2 {
		return nil, bad("FileHeader.SizeOfOptionalHeader", "%d bytes leaves no room for the optional header's Magic", optSize)
	}
	l := Layout{Machine: binary.LittleEndian.Uint16(data[coff:])}
	var numDirsAt, dirsAt int
	switch magic := binary.LittleEndian.Uint16(data[opt:]); magic {
	case magicPE32:
		numDirsAt, dirsAt = opt+92, opt+96
	case magicPE32Plus:
		l.PE32Plus = true
		numDirsAt, dirsAt = opt+108, opt+112
	default:
		return nil, bad("OptionalHeader.Magic", "%#x is neither PE32 (0x10b) nor PE32+ (0x20b)", magic)
	}
	optEnd := opt + optSize
	if dirsAt > optEnd {
		return nil, bad("FileHeader.SizeOfOptionalHeader", "%d bytes ends before NumberOfRvaAndSizes", optSize)
	}
	if optEnd > n {
		return nil, bad("FileHeader.SizeOfOptionalHeader", "%d bytes runs past the end of the file", optSize)
	}
	l.Subsystem = binary.LittleEndian.Uint16(data[opt+optSubsystem:])
	numDirs := uint64(binary.LittleEndian.Uint32(data[numDirsAt:]))
	if numDirs > uint64(optEnd-dirsAt)/8 {
		return nil, bad("OptionalHeader.NumberOfRvaAndSizes", "%d directories do not fit in the %d-byte optional header", numDirs, optSize)
	}
	secTable := optEnd
	secEnd := secTable + nsec*sectionSize
	sizeOfHeaders := int(binary.LittleEndian.Uint32(data[opt+optSizeOfHeaders:]))
	switch {
	case sizeOfHeaders > n:
		return nil, bad("OptionalHeader.SizeOfHeaders", "%#x is past the end of the %d-byte file", sizeOfHeaders, n)
	case sizeOfHeaders < secEnd:
		// edk2's PE/COFF loader refuses this too (PeCoffLoaderGetPeHeader).
		return nil, bad("OptionalHeader.SizeOfHeaders", "%#x ends before the section table does (%#x)", sizeOfHeaders, secEnd)
	}
	checksum := opt + optCheckSum
	certSize := 0
	l.Ranges = append(l.Ranges, [2]int{0, checksum})
	if numDirs <= dirSecurity {
		l.Ranges = append(l.Ranges, [2]int{checksum + 4, sizeOfHeaders})
	} else {
		cert := dirsAt + dirSecurity*8
		l.Ranges = append(l.Ranges, [2]int{checksum + 4, cert}, [2]int{cert + 8, sizeOfHeaders})
		certSize = int(binary.LittleEndian.Uint32(data[cert+4:]))
	}
	type section struct{ ptr, size, index int }
	var secs []section
	for i := 0; i < nsec; i++ {
		s := data[secTable+i*sectionSize:]
		size := int(binary.LittleEndian.Uint32(s[16:]))
		ptr := int(binary.LittleEndian.Uint32(s[20:]))
		if size == 0 {
			continue
		}
		if uint64(ptr)+uint64(size) > uint64(n) {
			return nil, bad(fmt.Sprintf("section %d (%q) PointerToRawData/SizeOfRawData", i, sectionName(s[:8])),
				"bytes %#x to %#x run past the end of the %d-byte file", ptr, uint64(ptr)+uint64(size), n)
		}
		secs = append(secs, section{ptr, size, i})
	}
	// Stable, so sections at one offset keep their table order, as edk2's
	// insertion sort does.
	slices.SortStableFunc(secs, func(a, b section) int { return a.ptr - b.ptr })
	sum := uint64(sizeOfHeaders)
	for _, s := range secs {
		l.Ranges = append(l.Ranges, [2]int{s.ptr, s.ptr + s.size})
		sum += uint64(s.size)
	}
	// The trailing data starts at SUM_OF_BYTES_HASHED, not at the end of
	// the last section: that is the specification's rule and edk2's, and
	// for a well-formed image (sections back to back after the headers)
	// they are the same offset.
	if sum < uint64(n) {
		switch {
		case uint64(certSize)+sum > uint64(n):
			return nil, bad("OptionalHeader.DataDirectory[Security].Size",
				"%d bytes of certificates is more than the %d bytes after the sections", certSize, uint64(n)-sum)
		case uint64(certSize)+sum < uint64(n):
			l.Ranges = append(l.Ranges, [2]int{int(sum), n - certSize})
		}
	}
	return &l, nil
}

func sectionName(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Digest is the Authenticode digest of data with h (crypto.SHA256 or
// crypto.SHA384).
func Digest(data []byte, h crypto.Hash) ([]byte, error) {
	var w hash.Hash
	switch h {
	case crypto.SHA256:
		w = sha256.New()
	case crypto.SHA384:
		w = sha512.New384()
	default:
		return nil, fmt.Errorf("authenticode: hash %v is not supported: use SHA-256 or SHA-384", h)
	}
	l, err := Parse(data)
	if err != nil {
		return nil, err
	}
	for _, r := range l.Ranges {
		w.Write(data[r[0]:r[1]])
	}
	return w.Sum(nil), nil
}

// SHA384 is the digest TDVF extends into RTMR[1] for an EFI application.
func SHA384(data []byte) ([48]byte, error) {
	var out [48]byte
	d, err := Digest(data, crypto.SHA384)
	copy(out[:], d)
	return out, err
}
