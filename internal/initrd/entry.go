// Package initrd builds deterministic initramfs archives (newc cpio) from a
// directory tree or a tar stream, wires the init (agent as PID 1, or systemd
// running the agent as a unit), validates the result for the target
// architecture and compresses it reproducibly. It reads archives back for
// `release initrd ls` and for tests.
//
// Determinism rules (docs/architecture.md, "Reproducibility"): entries sorted bytewise by
// path, missing parents created (0755), every mtime = the epoch, uid/gid 0
// unless an owner override says otherwise, inodes renumbered from 1 in archive
// order with hardlinks sharing one, no host metadata (device, inode, owner,
// times) in the output.
package initrd

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Kind is the file type of an entry.
type Kind uint8

// Entry kinds, each with the newc mode type bits it is written with.
const (
	KindRegular Kind = iota + 1
	KindDir
	KindSymlink
	KindCharDev
	KindBlockDev
	KindFifo
	KindSocket
)

// typeBits are the S_IFMT bits newc stores in c_mode.
var typeBits = map[Kind]uint32{
	KindRegular:  0o100000,
	KindDir:      0o040000,
	KindSymlink:  0o120000,
	KindCharDev:  0o020000,
	KindBlockDev: 0o060000,
	KindFifo:     0o010000,
	KindSocket:   0o140000,
}

func (k Kind) String() string {
	switch k {
	case KindRegular:
		return "file"
	case KindDir:
		return "directory"
	case KindSymlink:
		return "symlink"
	case KindCharDev:
		return "character device"
	case KindBlockDev:
		return "block device"
	case KindFifo:
		return "fifo"
	case KindSocket:
		return "socket"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// kindFromMode maps S_IFMT bits back to a Kind (0 when unknown).
func kindFromMode(mode uint32) Kind {
	for k, bits := range typeBits {
		if mode&0o170000 == bits {
			return k
		}
	}
	return 0
}

// PermMask keeps permission, setuid, setgid and sticky bits.
const PermMask = 0o7777

// Entry is one record of the tree: path, type, mode, owner, link target and where
// the bytes come from, the shape of u-root's cpio.Record. Path is relative to the
// root, clean, slash-separated, without a leading "/" or "./". The same record type
// is written as newc (WriteNewc) and, by internal/rootfs, as the rootfs tarball.
type Entry struct {
	Path     string
	Kind     Kind
	Perm     uint32 // PermMask bits
	UID, GID uint32
	// Size is the content length of a regular file.
	Size int64
	// Linkname is a symlink's target, stored verbatim.
	Linkname string
	// Major and Minor are a device node's numbers (rdev).
	Major, Minor uint32
	// Xattrs are extended attributes as tar PAX records ("SCHILY.xattr.<name>"):
	// file capabilities and ACLs a rootfs tarball carries. newc has no place for
	// them, so WriteNewc leaves them out.
	Xattrs map[string]string
	// Data is where a regular file's bytes come from; nil is an empty file.
	Data Content

	// link groups hardlinked regular files: entries sharing one pointer are
	// names of the same inode and are written with one inode number.
	link *hardlink
}

// hardlink is the identity of a multiply-linked file.
type hardlink struct{ id int }

// Hardlink identifies the inode a regular file shares with its other names (see
// Tree.AddHardlink): entries with the same non-zero value are one file. It is 0 for
// a file with one name.
func (e *Entry) Hardlink() int {
	if e.link == nil {
		return 0
	}
	return e.link.id
}

// Content opens a regular file's bytes. A tree holds where the bytes are, not the
// bytes, so a large tree is read once, when it is written.
type Content interface {
	Open() (io.ReadCloser, error)
	// String names the source in errors.
	String() string
}

// BytesContent is content held in memory (tar input, generated files).
type BytesContent []byte

// Open reads the bytes.
func (b BytesContent) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}
func (b BytesContent) String() string { return "in-memory content" }

// HostFile is content read from a host file at write time.
type HostFile string

// Open opens the file.
func (h HostFile) Open() (io.ReadCloser, error) { return os.Open(string(h)) }
func (h HostFile) String() string               { return string(h) }

// SectionContent is n bytes at Off of R: a member of a tarball on disk, read in
// place (internal/rootfs reads mmdebstrap's output so).
type SectionContent struct {
	R      io.ReaderAt
	Off, N int64
	// Name names the source in errors.
	Name string
}

// Open returns a reader of the section.
func (s SectionContent) Open() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(s.R, s.Off, s.N)), nil
}
func (s SectionContent) String() string { return s.Name }

// Open returns a reader of a regular file's content.
func (e *Entry) Open() (io.ReadCloser, error) {
	if e.Kind != KindRegular {
		return nil, fmt.Errorf("%s is a %s, not a regular file", e.Path, e.Kind)
	}
	if e.Data == nil {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	return e.Data.Open()
}

// source describes where a regular file's bytes come from, for errors.
func (e *Entry) source() string {
	if e.Data == nil {
		return "empty"
	}
	return e.Data.String()
}
