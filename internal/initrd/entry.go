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
	"github.com/guestforge/guestforge/internal/fstree"
)

// The tree an initrd is made of is internal/fstree's, the same one rootfs finishing
// uses; these names keep the package's API whole.
type (
	// Tree is the normalised content of an initrd (fstree.Tree).
	Tree = fstree.Tree
	// Entry is one record of the tree (fstree.Entry).
	Entry = fstree.Entry
	// Kind is the file type of an entry (fstree.Kind).
	Kind = fstree.Kind
)

// Entry kinds, each written with the newc mode type bits of typeBits.
const (
	KindRegular  = fstree.KindRegular
	KindDir      = fstree.KindDir
	KindSymlink  = fstree.KindSymlink
	KindCharDev  = fstree.KindCharDev
	KindBlockDev = fstree.KindBlockDev
	KindFifo     = fstree.KindFifo
	KindSocket   = fstree.KindSocket
)

// PermMask keeps permission, setuid, setgid and sticky bits.
const PermMask = fstree.PermMask

// ParentPerm is the mode of directories created because an entry needed a parent
// the input did not list.
const ParentPerm = fstree.ParentPerm

// NewTree returns an empty tree.
func NewTree() *Tree { return fstree.New() }

// CleanPath turns an archive or tree path into the form entries use (fstree.CleanPath).
func CleanPath(p string) (string, error) { return fstree.CleanPath(p) }

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

// kindFromMode maps S_IFMT bits back to a Kind (0 when unknown).
func kindFromMode(mode uint32) Kind {
	for k, bits := range typeBits {
		if mode&0o170000 == bits {
			return k
		}
	}
	return 0
}
