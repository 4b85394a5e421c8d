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

// Entry is one file of the tree. Path is relative to the initrd root, clean,
// slash-separated, without a leading "/" or "./".
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

	// content is where a regular file's bytes come from.
	content content
	// link groups hardlinked regular files: entries sharing one pointer are
	// names of the same inode and are written with one inode number.
	link *hardlink
}

// hardlink is the identity of a multiply-linked file.
type hardlink struct{ id int }

// content opens a regular file's bytes.
type content interface {
	open() (io.ReadCloser, error)
	// describe names the source in errors.
	describe() string
}

// bytesContent is content held in memory (tar input, generated files).
type bytesContent []byte

func (b bytesContent) open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}
func (b bytesContent) describe() string { return "in-memory content" }

// hostFile is content read from the host at write time, so a large tree is
// never held in memory.
type hostFile string

func (h hostFile) open() (io.ReadCloser, error) { return os.Open(string(h)) }
func (h hostFile) describe() string             { return string(h) }

// Open returns a reader of a regular file's content.
func (e *Entry) Open() (io.ReadCloser, error) {
	if e.Kind != KindRegular {
		return nil, fmt.Errorf("%s is a %s, not a regular file", e.Path, e.Kind)
	}
	if e.content == nil {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	return e.content.open()
}

// source describes where a regular file's bytes come from, for errors.
func (e *Entry) source() string {
	if e.content == nil {
		return "empty"
	}
	return e.content.describe()
}
