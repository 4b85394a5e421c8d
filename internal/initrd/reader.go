package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Header is one newc record as stored, with every field the format has (the
// cpio library's reader drops rdev and dev numbers, which `ls` must show).
type Header struct {
	Name                 string
	Inode                uint32
	Mode                 uint32 // type and permission bits
	UID, GID             uint32
	NLink                uint32
	MTime                int64
	Size                 int64 // body length (a symlink's body is its target)
	DevMajor, DevMinor   uint32
	RdevMajor, RdevMinor uint32
	Checksum             uint32
	// Magic is "070701" or "070702" (checksummed; the kernel refuses it).
	Magic string
	// Linkname is a symlink's target, read from its body.
	Linkname string
}

// Kind is the entry type from Mode.
func (h *Header) Kind() Kind { return kindFromMode(h.Mode) }

// Perm is the permission, setuid, setgid and sticky bits.
func (h *Header) Perm() uint32 { return h.Mode & PermMask }

// Reader reads a newc archive record by record. It checks what the kernel
// checks (magic, name length, alignment) and a 070702 archive's checksums.
type Reader struct {
	r      *bufio.Reader
	off    int64 // bytes consumed, for error positions
	remain int64 // unread body bytes of the current entry
	pad    int64 // padding after the current body
	sum    uint32
	want   *Header // current entry, when its checksum must be verified
	name   string  // current entry, for truncation errors
	size   int64   // its body length
	done   bool
}

// NewReader reads an uncompressed newc stream (see Decompress).
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 1<<16)} }

// Next skips the rest of the current entry and returns the next header;
// io.EOF after the trailer.
func (r *Reader) Next() (*Header, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.remain > 0 {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
	}
	if err := r.skip(r.pad); err != nil {
		return nil, err
	}
	r.pad, r.want = 0, nil
	start := r.off
	var raw [newcHeaderLen]byte
	if err := r.readFull(raw[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("cpio archive ends at offset %d without a %s record: it is truncated", start, trailerName)
		}
		return nil, err
	}
	h := &Header{Magic: string(raw[:6])}
	if h.Magic != newcMagic && h.Magic != "070702" {
		return nil, fmt.Errorf("cpio header at offset %d: magic %q is not newc (070701/070702): create the archive with -H newc", start, h.Magic)
	}
	fields := make([]uint32, 13)
	for i := range fields {
		f := raw[6+8*i : 14+8*i]
		v, err := strconv.ParseUint(string(f), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("cpio header at offset %d: field %d %q is not hex", start, i, f)
		}
		fields[i] = uint32(v)
	}
	h.Inode, h.Mode, h.UID, h.GID, h.NLink = fields[0], fields[1], fields[2], fields[3], fields[4]
	h.MTime, h.Size = int64(fields[5]), int64(fields[6])
	h.DevMajor, h.DevMinor, h.RdevMajor, h.RdevMinor = fields[7], fields[8], fields[9], fields[10]
	nameSize := int(fields[11])
	h.Checksum = fields[12]
	if h.Magic == newcMagic && h.Checksum != 0 {
		return nil, fmt.Errorf("cpio header at offset %d: checksum %08X in a 070701 record (must be 0)", start, h.Checksum)
	}
	if nameSize < 2 || nameSize > newcMaxName {
		return nil, fmt.Errorf("cpio header at offset %d: name size %d is outside 2..%d", start, nameSize, newcMaxName)
	}
	name := make([]byte, nameSize)
	if err := r.readFull(name); err != nil {
		return nil, fmt.Errorf("cpio header at offset %d: name: %w", start, err)
	}
	if name[nameSize-1] != 0 {
		return nil, fmt.Errorf("cpio header at offset %d: name is not NUL-terminated", start)
	}
	h.Name = string(name[:nameSize-1])
	if err := r.skip(pad4(newcHeaderLen + int64(nameSize))); err != nil {
		return nil, err
	}
	if h.Name == trailerName {
		r.done = true
		return nil, io.EOF
	}
	r.remain, r.pad, r.sum, r.name, r.size = h.Size, pad4(h.Size), 0, h.Name, h.Size
	if h.Magic != newcMagic {
		r.want = h
		if h.Size == 0 && h.Checksum != 0 {
			return nil, fmt.Errorf("cpio entry %s at offset %d: checksum %08X on an empty body", h.Name, start, h.Checksum)
		}
	}
	if h.Kind() == KindSymlink {
		if h.Size < 1 || h.Size >= newcMaxName {
			return nil, fmt.Errorf("cpio entry %s at offset %d: symlink target of %d bytes", h.Name, start, h.Size)
		}
		target, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("cpio entry %s: symlink target: %w", h.Name, err)
		}
		h.Linkname = string(target)
	}
	return h, nil
}

// Read reads the current entry's body.
func (r *Reader) Read(p []byte) (int, error) {
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.r.Read(p)
	r.off += int64(n)
	r.remain -= int64(n)
	for _, b := range p[:n] {
		r.sum += uint32(b)
	}
	if r.remain == 0 && r.want != nil && r.sum != r.want.Checksum {
		return n, fmt.Errorf("cpio entry %s: checksum %08X, header says %08X: the archive is corrupt", r.want.Name, r.sum, r.want.Checksum)
	}
	if (errors.Is(err, io.EOF) && r.remain > 0) || errors.Is(err, io.ErrUnexpectedEOF) {
		// A bare "unexpected EOF" names neither the member nor the cause.
		err = fmt.Errorf("cpio entry %s: the archive is truncated at offset %d, %d bytes into a %d-byte body: the file is incomplete (an interrupted download or build); fetch or build it again: %w",
			r.name, r.off, r.bodySize()-r.remain, r.bodySize(), io.ErrUnexpectedEOF)
	}
	return n, err
}

// bodySize is the current entry's body length.
func (r *Reader) bodySize() int64 { return r.size }

func (r *Reader) readFull(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("cpio archive truncated at offset %d: the file is incomplete (an interrupted download or build); fetch or build it again: %w", r.off, err)
	}
	return err
}

func (r *Reader) skip(n int64) error {
	if n == 0 {
		return nil
	}
	m, err := io.CopyN(io.Discard, r.r, n)
	r.off += m
	if err != nil {
		return fmt.Errorf("cpio archive truncated at offset %d: the file is incomplete (an interrupted download or build); fetch or build it again: %w", r.off, io.ErrUnexpectedEOF)
	}
	return nil
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

// FormatMode renders mode bits the way ls -l does, e.g. "-rwxr-xr-x".
func FormatMode(mode uint32) string {
	b := []byte("?rwxrwxrwx")
	switch kindFromMode(mode) {
	case KindRegular:
		b[0] = '-'
	case KindDir:
		b[0] = 'd'
	case KindSymlink:
		b[0] = 'l'
	case KindCharDev:
		b[0] = 'c'
	case KindBlockDev:
		b[0] = 'b'
	case KindFifo:
		b[0] = 'p'
	case KindSocket:
		b[0] = 's'
	}
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special := func(bit uint32, pos int, set, unsetExec byte) {
		if mode&bit == 0 {
			return
		}
		if b[pos] == '-' {
			b[pos] = unsetExec
		} else {
			b[pos] = set
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

// FormatListing is one `release initrd ls` line: mode, uid/gid, size (or
// major,minor for devices), mtime (UTC, RFC 3339), name, and " -> target"
// for symlinks.
func FormatListing(h *Header) string {
	size := strconv.FormatInt(h.Size, 10)
	switch h.Kind() {
	case KindCharDev, KindBlockDev:
		size = fmt.Sprintf("%d,%d", h.RdevMajor, h.RdevMinor)
	}
	line := fmt.Sprintf("%s %d/%d %10s %s %s", FormatMode(h.Mode), h.UID, h.GID, size,
		time.Unix(h.MTime, 0).UTC().Format(time.RFC3339), EscapeName(h.Name))
	if h.Kind() == KindSymlink {
		line += " -> " + EscapeName(h.Linkname)
	}
	return line
}

// EscapeName makes an archive's name safe to print on a terminal: the archive
// may be hostile, and a name holding ESC sequences or newlines would rewrite
// the screen or forge listing lines. Printable UTF-8 is kept as is (so normal
// names list unchanged); a backslash becomes \\, an invalid byte \xNN, a
// control or other non-printable character \xNN (below 0x80), \uNNNN or
// \UNNNNNNNN (e.g. the bidi overrides). Unescaping gives back the exact name.
func EscapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, name[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf && !strconv.IsPrint(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !strconv.IsPrint(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case !strconv.IsPrint(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}
