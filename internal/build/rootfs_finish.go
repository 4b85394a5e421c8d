package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
)

// FinishSpec says how a raw mmdebstrap tarball becomes an image's rootfs: what is
// removed, what is added, and how the result is normalised. Everything here is a
// plain value or a host path, so finishing is a pure function of its inputs.
type FinishSpec struct {
	// Image and ImageFile name the image definition in errors.
	Image, ImageFile string
	Arch             arch.Arch
	Init             initrd.InitMode
	// Epoch is every entry's mtime (SOURCE_DATE_EPOCH).
	Epoch int64
	// Delete are the image's delete: paths (absolute, inside the rootfs).
	Delete []string
	// Overlay is the image's files/ directory on this host ("" = none).
	Overlay string
	// Agent is the agent binary on this host; it is installed where the init mode
	// wants it (internal/initrd.ApplyInit decides, so initrd and disk agree).
	Agent string
	// Budget (as written) and BudgetBytes bound Stats.ContentBytes; 0 = no budget.
	Budget      string
	BudgetBytes int64
}

// DefaultHostname is written to /etc/hostname when the overlay brings none: the build
// container's name must not leak into the image.
const DefaultHostname = "guestforge"

// RootfsStats describes a finished rootfs; the disk image is sized from it.
type RootfsStats struct {
	Entries, Files, Dirs, Symlinks, Devices int
	// ContentBytes is the sum of regular file sizes, each inode counted once: what the
	// size budget limits.
	ContentBytes int64
	// DataBlocks is the sum of every inode's size rounded up to 4 KiB blocks.
	DataBlocks int64
	// DirBlocks estimates the 4 KiB blocks the directories' entries take.
	DirBlocks int64
	// LongSymlinks are symlinks whose target does not fit in the inode (60+ bytes).
	LongSymlinks int
	// Removed lists the per-build state and delete: paths that were dropped, each
	// with the reason.
	Removed []string
	// Largest are the biggest directories (three levels deep), for budget errors.
	Largest []DirUsage
}

// DirUsage is the content below one directory.
type DirUsage struct {
	Path  string
	Bytes int64
}

// BudgetError is a rootfs that is larger than its image allows.
type BudgetError struct {
	Image, ImageFile string
	Budget           string
	BudgetBytes      int64
	Actual           int64
	Largest          []DirUsage
}

func (e *BudgetError) Error() string {
	var top []string
	for _, d := range e.Largest {
		top = append(top, fmt.Sprintf("/%s %s", d.Path, mib(d.Bytes)))
	}
	return fmt.Sprintf("image %s: the rootfs holds %s (%d bytes), over its budget of %s (%d bytes, budget: in %s) by %s; largest directories: %s. Remove packages, add delete: paths, or raise the budget",
		e.Image, mib(e.Actual), e.Actual, e.Budget, e.BudgetBytes, e.ImageFile, mib(e.Actual-e.BudgetBytes), strings.Join(top, ", "))
}

func mib(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// stateRule is one kind of per-build state: a path (path.Match pattern, relative to
// the root) whose content depends on the machine or moment of the build, not on the
// inputs.
type stateRule struct {
	pattern string
	// logs applies the rule to regular files with content only: empty placeholders
	// (a package made /var/log/wtmp with the permissions its tools expect),
	// directories and symlinks under the pattern are package content.
	logs bool
	why  string
}

// stateRules remove what mmdebstrap leaves behind that is no input of the image. What
// is not listed was checked to be a function of the packages and SOURCE_DATE_EPOCH
// (the cache-disabled double build proves it): ld.so.cache, the dpkg database and
// /etc/shadow's change dates among them.
var stateRules = []stateRule{
	{pattern: "etc/resolv.conf", why: "the build container's resolver; the runtime provides one"},
	{pattern: "etc/hostname", why: "the build host's name; replaced by the overlay's or DefaultHostname"},
	{pattern: "var/lib/dbus/machine-id", why: "a machine identity; /etc/machine-id stays, empty"},
	{pattern: "etc/passwd-", why: "backup written by the account tools while installing"},
	{pattern: "etc/group-", why: "backup written by the account tools while installing"},
	{pattern: "etc/shadow-", why: "backup written by the account tools while installing"},
	{pattern: "etc/gshadow-", why: "backup written by the account tools while installing"},
	{pattern: "etc/subuid-", why: "backup written by the account tools while installing"},
	{pattern: "etc/subgid-", why: "backup written by the account tools while installing"},
	{pattern: "etc/ssh/ssh_host_*", why: "host keys are secrets of one machine"},
	{pattern: "var/lib/dpkg/*-old", why: "dpkg's previous database, written while installing"},
	{pattern: "var/cache/debconf/*-old", why: "debconf's previous database, written while installing"},
	{pattern: "var/cache/apt/*.bin", why: "apt's package cache"},
	{pattern: "var/cache/apt/archives/*.deb", why: "downloaded packages"},
	{pattern: "var/cache/apt/archives/partial/*", why: "downloads"},
	{pattern: "var/lib/apt/lists/*_*", why: "the mirror's indices at build time"},
	{pattern: "var/lib/apt/lists/partial/*", why: "downloads"},
	{pattern: "var/cache/ldconfig/aux-cache", why: "ldconfig's cache of host inode numbers and times"},
	{pattern: "var/lib/systemd/random-seed", why: "entropy of the build"},
	{pattern: "var/lib/systemd/credential.secret", why: "a secret of one machine"},
	{pattern: "var/log/*", logs: true, why: "logs of the build"},
	{pattern: "var/log/*/*", logs: true, why: "logs of the build"},
	{pattern: "tmp/*", why: "scratch files of the build"},
	{pattern: "var/tmp/*", why: "scratch files of the build"},
	{pattern: "root/.bash_history", why: "a shell history"},
}

// FinishRootfs reads the raw rootfs tarball (mmdebstrap's output) from raw, applies
// spec and writes the normalised tarball to w: entries sorted by path (comparePaths),
// mtime = the
// epoch, uid/gid as dpkg left them, no user or group names, no access or change
// times, hardlinks kept, extended attributes kept (SELinux labels of the build host
// dropped). The size budget is checked before the first byte is written, so an
// over-budget image never reaches w.
func FinishRootfs(raw io.ReaderAt, rawSize int64, w io.Writer, spec FinishSpec) (RootfsStats, error) {
	t, err := readRawTar(raw, rawSize)
	if err != nil {
		return RootfsStats{}, fmt.Errorf("image %s: read the mmdebstrap tarball: %w", spec.Image, err)
	}
	var removed []string
	removed = append(removed, t.removeState()...)
	for _, p := range spec.Delete {
		c, err := cleanRel(p)
		if err != nil {
			return RootfsStats{}, fmt.Errorf("image %s: delete: %w", spec.Image, err)
		}
		if t.remove(c) {
			removed = append(removed, c+" (delete: in "+spec.ImageFile+")")
		}
	}
	// Fixed files first, so the overlay can replace them.
	t.put(fileNode("etc/hostname", 0o644, DefaultHostname+"\n"))
	// Empty: systemd makes a machine ID at boot (on a read-only root, in memory).
	t.put(fileNode("etc/machine-id", 0o444, ""))
	if spec.Overlay != "" {
		if err := t.overlay(spec.Overlay); err != nil {
			return RootfsStats{}, fmt.Errorf("image %s: overlay %s: %w", spec.Image, spec.Overlay, err)
		}
	}
	if spec.Agent == "" {
		return RootfsStats{}, fmt.Errorf("image %s: no agent binary to install: set agent: in %s", spec.Image, spec.ImageFile)
	}
	if err := t.wireInit(spec.Init, spec.Agent); err != nil {
		return RootfsStats{}, fmt.Errorf("image %s: install the agent (init: %s): %w", spec.Image, spec.Init, err)
	}
	entries, err := t.layout()
	if err != nil {
		return RootfsStats{}, fmt.Errorf("image %s: %w", spec.Image, err)
	}
	st := statsOf(entries)
	slices.Sort(removed)
	st.Removed = removed
	if spec.BudgetBytes > 0 && st.ContentBytes > spec.BudgetBytes {
		return st, &BudgetError{Image: spec.Image, ImageFile: spec.ImageFile, Budget: spec.Budget,
			BudgetBytes: spec.BudgetBytes, Actual: st.ContentBytes, Largest: st.Largest}
	}
	if err := writeTar(w, entries, spec.Epoch); err != nil {
		return st, fmt.Errorf("image %s: write the rootfs tarball: %w", spec.Image, err)
	}
	return st, nil
}

// node is one entry of the rootfs being finished. hdr.Name is clean and relative
// ("etc/hostname"; "" never appears: the root is implicit).
type node struct {
	hdr  tar.Header
	data dataSource // regular files
	// group is the raw path of the inode a hardlinked regular file belongs to ("" for
	// a file with one name, and for anything not from the raw tarball).
	group string
}

// dataSource opens a regular file's content.
type dataSource interface {
	open() (io.ReadCloser, error)
}

type sectionData struct {
	r        io.ReaderAt
	off, len int64
}

func (s sectionData) open() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(s.r, s.off, s.len)), nil
}

type bytesData string

func (b bytesData) open() (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(b))), nil
}

type hostData string

func (h hostData) open() (io.ReadCloser, error) { return os.Open(string(h)) }

type entryData struct{ e *initrd.Entry }

func (d entryData) open() (io.ReadCloser, error) { return d.e.Open() }

// rootfsTree is the rootfs while it is finished: nodes by path. Hardlinked names
// share their raw inode's content source, so a group keeps its bytes even when the
// name the tarball linked them to is deleted.
type rootfsTree struct {
	nodes map[string]*node
}

// fileNode is a root-owned regular file with fixed content.
func fileNode(name string, perm int64, content string) *node {
	return &node{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: perm, Size: int64(len(content))}, data: bytesData(content)}
}

// offsetReader counts how far a sequential reader got, so the tar reader's position
// (the start of an entry's content after Next) is known.
type offsetReader struct {
	r   io.Reader
	off int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	o.off += int64(n)
	return n, err
}

func readRawTar(raw io.ReaderAt, size int64) (*rootfsTree, error) {
	t := &rootfsTree{nodes: map[string]*node{}}
	or := &offsetReader{r: io.NewSectionReader(raw, 0, size)}
	tr := tar.NewReader(or)
	for n := 1; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, fmt.Errorf("member #%d: %w", n, err)
		}
		if isRootName(h.Name) {
			continue
		}
		name, err := cleanRel(h.Name)
		if err != nil {
			return nil, fmt.Errorf("member #%d: %w", n, err)
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return nil, fmt.Errorf("member #%d %s: sparse files are not supported", n, name)
			}
		}
		nh := tar.Header{Name: name, Mode: h.Mode & 0o7777, Uid: h.Uid, Gid: h.Gid, PAXRecords: keptXattrs(h.PAXRecords)}
		nd := &node{hdr: nh}
		switch h.Typeflag {
		case tar.TypeReg:
			nd.hdr.Typeflag, nd.hdr.Size = tar.TypeReg, h.Size
			nd.data = sectionData{r: raw, off: or.off, len: h.Size}
		case tar.TypeLink:
			target, err := cleanRel(h.Linkname)
			if err != nil {
				return nil, fmt.Errorf("member #%d %s: hardlink: %w", n, name, err)
			}
			orig, ok := t.nodes[target]
			if !ok || orig.hdr.Typeflag != tar.TypeReg {
				return nil, fmt.Errorf("member #%d %s: hardlink to %s, which is not an earlier regular file", n, name, target)
			}
			group := cmpOr(orig.group, target)
			orig.group = group
			nd.hdr = orig.hdr
			nd.hdr.Name = name
			nd.data, nd.group = orig.data, group
		case tar.TypeDir:
			nd.hdr.Typeflag = tar.TypeDir
		case tar.TypeSymlink:
			if h.Linkname == "" {
				return nil, fmt.Errorf("member #%d %s: symlink with an empty target", n, name)
			}
			nd.hdr.Typeflag, nd.hdr.Linkname = tar.TypeSymlink, h.Linkname
		case tar.TypeChar, tar.TypeBlock:
			nd.hdr.Typeflag, nd.hdr.Devmajor, nd.hdr.Devminor = h.Typeflag, h.Devmajor, h.Devminor
		case tar.TypeFifo:
			nd.hdr.Typeflag = tar.TypeFifo
		default:
			return nil, fmt.Errorf("member #%d %s: unsupported tar entry type %q", n, name, h.Typeflag)
		}
		t.nodes[name] = nd
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keptXattrs keeps the extended attributes of an entry (file capabilities, ACLs) and
// drops everything else PAX can carry (times, names) and the build host's SELinux
// labels.
func keptXattrs(recs map[string]string) map[string]string {
	var out map[string]string
	for k, v := range recs {
		if !strings.HasPrefix(k, "SCHILY.xattr.") || k == "SCHILY.xattr.security.selinux" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

func isRootName(name string) bool {
	switch name {
	case "", ".", "./", "/":
		return true
	}
	return false
}

// cleanRel turns a tar or absolute path into a clean relative one, refusing paths
// that leave the root.
func cleanRel(p string) (string, error) {
	orig := p
	p = strings.TrimLeft(p, "/")
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q leaves the rootfs", orig)
		}
	}
	p = path.Clean(p)
	if p == "." || p == "" {
		return "", fmt.Errorf("path %q names the root itself", orig)
	}
	return p, nil
}

// remove drops p and everything below it; it reports whether anything was there.
func (t *rootfsTree) remove(p string) bool {
	found := false
	if _, ok := t.nodes[p]; ok {
		delete(t.nodes, p)
		found = true
	}
	prefix := p + "/"
	for q := range t.nodes {
		if strings.HasPrefix(q, prefix) {
			delete(t.nodes, q)
			found = true
		}
	}
	return found
}

func (t *rootfsTree) removeState() []string {
	var removed []string
	for _, p := range slices.Sorted(mapKeys(t.nodes)) {
		n, ok := t.nodes[p]
		if !ok {
			continue // under a directory removed earlier in this loop
		}
		for _, r := range stateRules {
			if ok, _ := path.Match(r.pattern, p); !ok {
				continue
			}
			if r.logs && (n.hdr.Typeflag != tar.TypeReg || n.hdr.Size == 0) {
				break
			}
			t.remove(p)
			removed = append(removed, p+" ("+r.why+")")
			break
		}
	}
	return removed
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// put adds or replaces a node, creating missing parents. A replaced name leaves its
// hardlink group.
func (t *rootfsTree) put(n *node) {
	t.ensureDirs(n.hdr.Name)
	t.nodes[n.hdr.Name] = n
}

// maxHops bounds symlink resolution, as the kernel's MAXSYMLINKS does.
const maxHops = 40

// resolveDir follows symlinks in dir the way the guest would, so an overlay file
// written under /lib lands in /usr/lib on a merged-/usr Debian. Missing components
// are returned as they are (they will be created as directories).
func (t *rootfsTree) resolveDir(dir string) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	todo := strings.Split(dir, "/")
	var done []string
	hops := 0
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
		n, ok := t.nodes[cur]
		if !ok || n.hdr.Typeflag == tar.TypeDir {
			done = append(done, part)
			continue
		}
		if n.hdr.Typeflag != tar.TypeSymlink {
			return "", fmt.Errorf("%s is a file, not a directory", cur)
		}
		if hops++; hops > maxHops {
			return "", fmt.Errorf("resolving %s: more than %d symlinks", dir, maxHops)
		}
		if strings.HasPrefix(n.hdr.Linkname, "/") {
			done = nil
		}
		todo = append(strings.Split(n.hdr.Linkname, "/"), todo...)
	}
	return path.Join(done...), nil
}

// ensureDirs creates the missing parents of p as root-owned 0755 directories.
func (t *rootfsTree) ensureDirs(p string) {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if _, ok := t.nodes[dir]; ok {
			return
		}
		t.nodes[dir] = &node{hdr: tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}}
	}
}

// overlay copies the files/ directory over the tree: root-owned, permissions as on
// disk (git keeps only the executable bit), parents resolved through the tree's
// symlinks.
func (t *rootfsTree) overlay(dir string) error {
	return filepath.WalkDir(dir, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, host)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		parent, err := t.resolveDir(path.Dir(filepath.ToSlash(rel)))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		name := path.Join(parent, path.Base(filepath.ToSlash(rel)))
		perm := int64(info.Mode().Perm())
		var n *node
		switch {
		case info.Mode().IsRegular():
			n = &node{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: perm, Size: info.Size()}, data: hostData(host)}
		case info.IsDir():
			// lib/ in the overlay is the rootfs's lib -> usr/lib: follow the link.
			if name, err = t.resolveDir(name); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if old, ok := t.nodes[name]; ok && old.hdr.Typeflag == tar.TypeDir {
				return nil // the rootfs's directory keeps its owner and mode
			}
			n = &node{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: perm}}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return err
			}
			n = &node{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Mode: 0o777, Linkname: target}}
		default:
			return fmt.Errorf("%s is a %s: an overlay holds files, directories and symlinks only", rel, info.Mode().Type())
		}
		if old, ok := t.nodes[name]; ok && old.hdr.Typeflag == tar.TypeDir && n.hdr.Typeflag != tar.TypeDir {
			t.remove(name)
		}
		t.put(n)
		return nil
	})
}

// wireInit installs the agent and wires the init mode exactly as internal/initrd does
// for an initrd (ApplyInit on a skeleton of this tree), so the disk image and the
// initrd of an image boot the same way. Whatever ApplyInit added or replaced is
// copied back.
func (t *rootfsTree) wireInit(mode initrd.InitMode, agent string) error {
	sk := initrd.NewTree()
	for _, p := range slices.Sorted(mapKeys(t.nodes)) {
		n := t.nodes[p]
		var err error
		switch n.hdr.Typeflag {
		case tar.TypeDir:
			err = sk.AddDir(p, uint32(n.hdr.Mode))
		case tar.TypeSymlink:
			err = sk.AddSymlink(p, n.hdr.Linkname)
		case tar.TypeChar:
			err = sk.AddDevice(p, initrd.KindCharDev, uint32(n.hdr.Devmajor), uint32(n.hdr.Devminor), uint32(n.hdr.Mode))
		case tar.TypeBlock:
			err = sk.AddDevice(p, initrd.KindBlockDev, uint32(n.hdr.Devmajor), uint32(n.hdr.Devminor), uint32(n.hdr.Mode))
		case tar.TypeFifo:
			err = sk.AddSpecial(p, initrd.KindFifo, uint32(n.hdr.Mode))
		default:
			// Content does not matter to the wiring; an empty placeholder marks the name.
			err = sk.AddFile(p, uint32(n.hdr.Mode), nil)
		}
		if err != nil {
			return fmt.Errorf("skeleton: %w", err)
		}
	}
	before := map[string]*initrd.Entry{}
	for _, e := range sk.Entries() {
		before[e.Path] = e
	}
	if err := initrd.ApplyInit(sk, mode, &initrd.Agent{HostPath: agent}); err != nil {
		return err
	}
	for _, e := range sk.Entries() {
		if before[e.Path] == e {
			continue
		}
		h := tar.Header{Name: e.Path, Mode: int64(e.Perm), Uid: int(e.UID), Gid: int(e.GID)}
		n := &node{}
		switch e.Kind {
		case initrd.KindDir:
			h.Typeflag = tar.TypeDir
		case initrd.KindRegular:
			h.Typeflag, h.Size = tar.TypeReg, e.Size
			n.data = entryData{e}
		case initrd.KindSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Linkname
		case initrd.KindCharDev, initrd.KindBlockDev:
			h.Typeflag = tar.TypeChar
			if e.Kind == initrd.KindBlockDev {
				h.Typeflag = tar.TypeBlock
			}
			h.Devmajor, h.Devminor = int64(e.Major), int64(e.Minor)
		default:
			return fmt.Errorf("init wiring added %s, a %s, which a rootfs does not take", e.Path, e.Kind)
		}
		n.hdr = h
		if old, ok := t.nodes[e.Path]; ok && old.hdr.Typeflag == tar.TypeDir && h.Typeflag == tar.TypeDir {
			continue
		}
		t.put(n)
	}
	return nil
}

// comparePaths orders paths component by component ("/" sorts before every other
// byte), so a directory's entries follow it directly: etc/ca-certificates/update.d
// before etc/ca-certificates.conf. GNU tar sets a directory's mtime once it sees an
// entry outside it; in plain byte order it would see one too early and the later
// entries would touch the directory again.
func comparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		return int(ca) - int(cb)
	}
	return len(a) - len(b)
}

// layout returns the final entries in archive order, with hardlink groups settled:
// the first surviving name (in that order) carries the content, the others link to
// it. A group whose original name was deleted keeps its content that way too.
func (t *rootfsTree) layout() ([]*node, error) {
	names := slices.SortedFunc(mapKeys(t.nodes), comparePaths)
	first := map[string]string{}
	out := make([]*node, 0, len(names))
	for _, p := range names {
		n := *t.nodes[p]
		if n.hdr.Typeflag == tar.TypeReg && n.group != "" {
			if f, ok := first[n.group]; ok {
				n.hdr.Typeflag, n.hdr.Linkname, n.hdr.Size, n.data = tar.TypeLink, f, 0, nil
			} else {
				first[n.group] = p
			}
		}
		if n.hdr.Typeflag == tar.TypeReg && n.data == nil {
			return nil, fmt.Errorf("%s has no content source (internal error)", p)
		}
		out = append(out, &n)
	}
	return out, nil
}

func statsOf(entries []*node) RootfsStats {
	var st RootfsStats
	usage := map[string]int64{}
	children := map[string]int64{} // directory -> bytes of its entries' names
	for _, n := range entries {
		st.Entries++
		parent := path.Dir(n.hdr.Name)
		// An ext4 directory entry is 8 bytes plus the name, rounded to 4.
		children[parent] += 8 + int64((len(path.Base(n.hdr.Name))+3)&^3)
		switch n.hdr.Typeflag {
		case tar.TypeReg:
			st.Files++
			st.ContentBytes += n.hdr.Size
			st.DataBlocks += (n.hdr.Size + 4095) / 4096
			comps := strings.Split(n.hdr.Name, "/")
			usage[strings.Join(comps[:min(len(comps)-1, 3)], "/")] += n.hdr.Size
		case tar.TypeLink:
			st.Files++
		case tar.TypeDir:
			st.Dirs++
		case tar.TypeSymlink:
			st.Symlinks++
			if len(n.hdr.Linkname) >= 60 {
				st.LongSymlinks++
			}
		default:
			st.Devices++
		}
	}
	for _, b := range children {
		st.DirBlocks += (b + 24 + 4095) / 4096 // + "." and ".."
	}
	st.DirBlocks += int64(st.Dirs) - int64(len(children)) // empty directories still take a block
	for p, b := range usage {
		st.Largest = append(st.Largest, DirUsage{Path: p, Bytes: b})
	}
	slices.SortFunc(st.Largest, func(a, b DirUsage) int {
		if a.Bytes != b.Bytes {
			if a.Bytes > b.Bytes {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Path, b.Path)
	})
	if len(st.Largest) > 5 {
		st.Largest = st.Largest[:5]
	}
	return st
}

// writeTar writes entries as a normalised tarball: a root entry, then every entry
// with mtime = epoch and nothing from the machine it was built on.
func writeTar(w io.Writer, entries []*node, epoch int64) error {
	tw := tar.NewWriter(w)
	mtime := time.Unix(epoch, 0)
	root := &tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755, ModTime: mtime}
	if err := tw.WriteHeader(root); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for _, n := range entries {
		h := n.hdr
		h.Name = "./" + h.Name
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if h.Typeflag == tar.TypeLink {
			h.Linkname = "./" + h.Linkname
		}
		h.ModTime = mtime
		h.Uname, h.Gname = "", ""
		h.Format = tar.FormatUnknown
		if len(h.PAXRecords) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			return fmt.Errorf("%s: %w", n.hdr.Name, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rc, err := n.data.open()
		if err != nil {
			return fmt.Errorf("%s: %w", n.hdr.Name, err)
		}
		m, err := io.CopyBuffer(tw, io.LimitReader(rc, h.Size+1), buf)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", n.hdr.Name, err)
		}
		if m != h.Size {
			return fmt.Errorf("%s: content is %d bytes, the listing said %d (changed while finishing?)", n.hdr.Name, m, h.Size)
		}
	}
	return tw.Close()
}
