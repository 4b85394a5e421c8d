// Package fstree is the one filesystem tree of guestforge: records of path, type,
// mode, owner, link target and content source (Entry, the shape of u-root's
// cpio.Record), keyed by clean path, with the rules every tree obeys: paths never
// leave the root, parents exist before children (missing ones are made 0755), a
// later record replaces an earlier one, hardlinked names share one inode, symlinks
// resolve the way the guest kernel resolves them. internal/initrd wires init on it
// and writes it as newc; internal/rootfs finishes a rootfs on it and writes it as a
// tarball. A record may hold where its bytes are instead of the bytes (a host file,
// a member of a tarball on disk), so a large tree need cost only its records.
package fstree

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Kind is the file type of an entry.
type Kind uint8

// Entry kinds.
const (
	KindRegular Kind = iota + 1
	KindDir
	KindSymlink
	KindCharDev
	KindBlockDev
	KindFifo
	KindSocket
)

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

// PermMask keeps permission, setuid, setgid and sticky bits.
const PermMask = 0o7777

// Entry is one record of the tree: path, type, mode, owner, link target and where
// the bytes come from, the shape of u-root's cpio.Record. Path is relative to the
// root, clean, slash-separated, without a leading "/" or "./". internal/initrd
// writes entries as newc and internal/rootfs as the rootfs tarball.
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
	// them, so internal/initrd's WriteNewc leaves them out.
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

// Source describes where a regular file's bytes come from, for errors.
func (e *Entry) Source() string {
	if e.Data == nil {
		return "empty"
	}
	return e.Data.String()
}
