package fstree

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// PathMax is Linux's PATH_MAX, the terminating NUL included: the longest symlink
// target the kernel reads.
const PathMax = 4096

// ParentPerm is the mode of directories created because an entry needed a
// parent the input did not list. Fixed, so the process umask never leaks in.
const ParentPerm = 0o755

// Tree is a normalised filesystem tree: entries keyed by clean path.
// Adding an entry that exists replaces it (overlay semantics, as a later tar
// member replaces an earlier one).
type Tree struct {
	entries map[string]*Entry
	nextID  int
	// Rewrites records symlink targets changed by the absolute-target rule of
	// internal/initrd's FromDir, as "path: old -> new", for the caller to report.
	Rewrites []string
}

// New returns an empty tree.
func New() *Tree { return &Tree{entries: map[string]*Entry{}} }

// CleanPath turns an archive or tree path into the form entries use:
// relative, clean, slash-separated. It refuses paths that leave the root
// ("..") and the root itself. Its errors speak of the initrd, which is what
// `release initrd` users pack.
func CleanPath(p string) (string, error) { return CleanPathIn(p, "initrd root") }

// CleanPathIn is CleanPath whose errors name root ("rootfs", "initrd root"), so
// each caller's users read the tree they gave.
func CleanPathIn(p, root string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	orig := p
	p = strings.TrimLeft(p, "/")
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q leaves the %s (it has a .. component): remove or rename the entry", orig, root)
		}
	}
	p = path.Clean(p)
	if p == "." || p == "" {
		return "", fmt.Errorf("path %q names the root itself, not an entry", orig)
	}
	return p, nil
}

// Len is the number of entries.
func (t *Tree) Len() int { return len(t.entries) }

// Lookup returns the entry at p (any form CleanPath accepts).
func (t *Tree) Lookup(p string) (*Entry, bool) {
	c, err := CleanPath(p)
	if err != nil {
		return nil, false
	}
	e, ok := t.entries[c]
	return e, ok
}

// Entries returns all entries sorted bytewise by path, which puts every
// directory before its contents.
func (t *Tree) Entries() []*Entry {
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// add inserts e (Path already clean), creating missing parents.
func (t *Tree) add(e *Entry) error {
	if err := t.ensureParents(e.Path); err != nil {
		return err
	}
	if old, ok := t.entries[e.Path]; ok && old.Kind == KindDir && e.Kind != KindDir && t.hasChildren(e.Path) {
		return fmt.Errorf("cannot replace directory %s, which has entries, with a %s", e.Path, e.Kind)
	}
	t.entries[e.Path] = e
	return nil
}

func (t *Tree) ensureParents(p string) error {
	var missing []string
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		parent, ok := t.entries[dir]
		if !ok {
			missing = append(missing, dir)
			continue
		}
		if parent.Kind == KindSymlink {
			return fmt.Errorf("cannot add %s: its parent %s is a symlink (-> %s); add it under the link's target instead", p, dir, parent.Linkname)
		}
		if parent.Kind != KindDir {
			return fmt.Errorf("cannot add %s: its parent %s is a %s", p, dir, parent.Kind)
		}
		break
	}
	for _, dir := range missing {
		t.entries[dir] = &Entry{Path: dir, Kind: KindDir, Perm: ParentPerm}
	}
	return nil
}

func (t *Tree) hasChildren(dir string) bool {
	prefix := dir + "/"
	for p := range t.entries {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// Remove deletes p and everything under it; removing a missing path is not
// an error (image definitions delete docs that a package may not ship).
func (t *Tree) Remove(p string) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	delete(t.entries, c)
	prefix := c + "/"
	for q := range t.entries {
		if strings.HasPrefix(q, prefix) {
			delete(t.entries, q)
		}
	}
	return nil
}

// Add adds a copy of the record e as it is: owner, mode, extended attributes and
// content source kept (the Add* helpers fix some of them; a rootfs keeps what dpkg
// left; the Xattrs map is shared, not copied). Path may be in any form CleanPath
// accepts. A hardlink is made with AddHardlink, not here.
func (t *Tree) Add(e *Entry) error {
	c, err := CleanPath(e.Path)
	if err != nil {
		return err
	}
	r := *e
	r.Path, r.Perm, r.link = c, e.Perm&PermMask, nil
	switch r.Kind {
	case KindRegular, KindDir, KindCharDev, KindBlockDev, KindFifo, KindSocket:
	case KindSymlink:
		if r.Linkname == "" {
			return fmt.Errorf("symlink %s has an empty target", c)
		}
		// The kernel reads the target as a C string of at most PATH_MAX.
		if strings.IndexByte(r.Linkname, 0) >= 0 || len(r.Linkname)+1 > PathMax {
			return fmt.Errorf("symlink %s: target %.40q... has a NUL byte or is longer than PATH_MAX", c, r.Linkname)
		}
	default:
		return fmt.Errorf("%s: unknown entry kind %s", c, r.Kind)
	}
	if r.Kind != KindRegular && (r.Size != 0 || r.Data != nil) {
		return fmt.Errorf("%s: a %s has no content", c, r.Kind)
	}
	return t.add(&r)
}

// AddDir adds (or re-moded) a directory.
func (t *Tree) AddDir(p string, perm uint32) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	return t.add(&Entry{Path: c, Kind: KindDir, Perm: perm & PermMask})
}

// AddFile adds a regular file with in-memory content.
func (t *Tree) AddFile(p string, perm uint32, data []byte) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	return t.add(&Entry{Path: c, Kind: KindRegular, Perm: perm & PermMask, Size: int64(len(data)), Data: BytesContent(data)})
}

// AddHostFile adds a regular file whose bytes are read from hostPath when the
// archive is written; size is its current length.
func (t *Tree) AddHostFile(p string, perm uint32, hostPath string, size int64) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	return t.add(&Entry{Path: c, Kind: KindRegular, Perm: perm & PermMask, Size: size, Data: HostFile(hostPath)})
}

// AddSymlink adds a symlink; the target is checked by Validate, not here, so
// a tree can be assembled first and judged as a whole.
func (t *Tree) AddSymlink(p, target string) error {
	return t.Add(&Entry{Path: p, Kind: KindSymlink, Perm: 0o777, Linkname: target})
}

// AddDevice adds a character or block device node. No mknod happens: the
// node only exists in the archive, so no root is needed.
func (t *Tree) AddDevice(p string, kind Kind, major, minor, perm uint32) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	if kind != KindCharDev && kind != KindBlockDev {
		return fmt.Errorf("device %s: kind %s is not a device", c, kind)
	}
	return t.add(&Entry{Path: c, Kind: kind, Perm: perm & PermMask, Major: major, Minor: minor})
}

// AddSpecial adds a fifo or socket.
func (t *Tree) AddSpecial(p string, kind Kind, perm uint32) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	if kind != KindFifo && kind != KindSocket {
		return fmt.Errorf("%s: kind %s is not a fifo or socket", c, kind)
	}
	return t.add(&Entry{Path: c, Kind: kind, Perm: perm & PermMask})
}

// AddHardlink makes p another name of the regular file at target.
func (t *Tree) AddHardlink(p, target string) error {
	c, err := CleanPath(p)
	if err != nil {
		return err
	}
	tc, err := CleanPath(target)
	if err != nil {
		return fmt.Errorf("hardlink %s: %w", c, err)
	}
	orig, ok := t.entries[tc]
	if !ok {
		return fmt.Errorf("hardlink %s -> %s: the target is not in the tree (it must come first)", c, tc)
	}
	if orig.Kind != KindRegular {
		return fmt.Errorf("hardlink %s -> %s: the target is a %s; only regular files can be hardlinked", c, tc, orig.Kind)
	}
	if orig.link == nil {
		t.nextID++
		orig.link = &hardlink{id: t.nextID}
	}
	e := *orig
	e.Path = c
	return t.add(&e)
}

// maxSymlinkHops is the kernel's limit (MAXSYMLINKS) on links followed in
// one lookup.
const maxSymlinkHops = 40

// ErrNotFound is wrapped by Resolve when a path component is missing.
var ErrNotFound = errors.New("not in the tree")

// errRoot is wrapped by Resolve when a path leads back to the root.
var errRoot = errors.New("it resolves to the root directory")

// Resolve follows symlinks in every component of p the way the guest kernel
// would inside the tree: absolute targets start at the tree's root and ".."
// stops at the root. It returns the final path and its entry; when a
// component is missing the error wraps ErrNotFound and the path returned is
// where the entry would be.
func (t *Tree) Resolve(p string) (string, *Entry, error) {
	c, err := CleanPath(p)
	if err != nil {
		return "", nil, err
	}
	hops := 0
	todo := strings.Split(c, "/")
	var done []string
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(slices.Clone(done), part)...)
		e, ok := t.entries[cur]
		if !ok {
			// Report where the path would be, so callers can create it there.
			would := path.Join(append([]string{cur}, todo...)...)
			return would, nil, fmt.Errorf("resolve %s: %s is %w", c, cur, ErrNotFound)
		}
		if e.Kind != KindSymlink {
			if len(todo) > 0 && e.Kind != KindDir {
				return cur, nil, fmt.Errorf("resolve %s: %s is a %s, not a directory", c, cur, e.Kind)
			}
			done = append(done, part)
			continue
		}
		hops++
		if hops > maxSymlinkHops {
			return cur, nil, fmt.Errorf("resolve %s: more than %d symlinks (a loop?)", c, maxSymlinkHops)
		}
		target := strings.Split(e.Linkname, "/")
		if strings.HasPrefix(e.Linkname, "/") {
			done = nil
		}
		todo = append(target, todo...)
	}
	if len(done) == 0 {
		return "", nil, fmt.Errorf("resolve %s: %w", c, errRoot)
	}
	final := path.Join(done...)
	return final, t.entries[final], nil
}

// ResolveDir returns where an entry under dir lands once the symlinks in dir are
// followed (Resolve): an overlay's lib/x goes to usr/lib/x on a merged-/usr tree.
// Missing components are kept as they are, since they will be created as
// directories; "" (or ".") and a dir that leads back to the root give "". A
// component that is neither a directory nor a symlink is an error.
func (t *Tree) ResolveDir(dir string) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	p, e, err := t.Resolve(dir)
	switch {
	case errors.Is(err, ErrNotFound):
		return p, nil
	case errors.Is(err, errRoot):
		return "", nil
	case err != nil:
		return "", err
	case e.Kind != KindDir:
		return "", fmt.Errorf("resolve %s: %s is a %s, not a directory", dir, p, e.Kind)
	}
	return p, nil
}
