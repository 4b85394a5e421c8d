package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/guestforge/guestforge/internal/fstree"
	"github.com/guestforge/guestforge/internal/initrd"
)

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

// maxEntries bounds the members of a raw tarball: the tree holds a record of each in
// memory (content stays in the tarball). It is the initrd's limit, since every rootfs
// may also become an initrd.
var maxEntries = initrd.DefaultLimits.MaxEntries

// readRaw reads mmdebstrap's tarball into a tree. Regular files are read in place
// later (fstree.SectionContent), so the tarball is never held in memory. Owners, modes
// and extended attributes are kept; times and user and group names are dropped.
// Hardlinked names share their inode's record, so a group keeps its bytes even when
// the name the tarball linked them to is deleted.
func readRaw(raw io.ReaderAt, size int64) (*fstree.Tree, error) {
	t := fstree.New()
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
		if n > maxEntries {
			return nil, fmt.Errorf("member #%d: the tarball has more than %d members, more than any rootfs of ours holds: check the image's packages", n, maxEntries)
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
		e := &fstree.Entry{Path: name, Perm: uint32(h.Mode & fstree.PermMask), UID: uint32(h.Uid), GID: uint32(h.Gid),
			Xattrs: keptXattrs(h.PAXRecords)}
		switch h.Typeflag {
		case tar.TypeReg:
			e.Kind, e.Size = fstree.KindRegular, h.Size
			e.Data = fstree.SectionContent{R: raw, Off: or.off, N: h.Size, Name: fmt.Sprintf("mmdebstrap tarball member #%d", n)}
		case tar.TypeLink:
			target, err := cleanRel(h.Linkname)
			if err != nil {
				return nil, fmt.Errorf("member #%d %s: hardlink: %w", n, name, err)
			}
			if orig, ok := t.Lookup(target); !ok || orig.Kind != fstree.KindRegular {
				return nil, fmt.Errorf("member #%d %s: hardlink to %s, which is not an earlier regular file", n, name, target)
			}
			// The new name takes the inode's record: content, owner, mode, xattrs.
			if err := t.AddHardlink(name, target); err != nil {
				return nil, fmt.Errorf("member #%d: %w", n, err)
			}
			continue
		case tar.TypeDir:
			e.Kind = fstree.KindDir
		case tar.TypeSymlink:
			if h.Linkname == "" {
				return nil, fmt.Errorf("member #%d %s: symlink with an empty target", n, name)
			}
			e.Kind, e.Linkname = fstree.KindSymlink, h.Linkname
		case tar.TypeChar, tar.TypeBlock:
			e.Kind = fstree.KindCharDev
			if h.Typeflag == tar.TypeBlock {
				e.Kind = fstree.KindBlockDev
			}
			e.Major, e.Minor = uint32(h.Devmajor), uint32(h.Devminor)
		case tar.TypeFifo:
			e.Kind = fstree.KindFifo
		default:
			return nil, fmt.Errorf("member #%d %s: unsupported tar entry type %q", n, name, h.Typeflag)
		}
		if err := t.Add(e); err != nil {
			return nil, fmt.Errorf("member #%d: %w", n, err)
		}
	}
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
// that leave the root, in words that name the rootfs.
func cleanRel(p string) (string, error) { return fstree.CleanPathIn(p, "rootfs") }
