package rootfs

import (
	"archive/tar"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/guestforge/guestforge/internal/fstree"
)

// ComparePaths orders paths component by component ("/" sorts before every other
// byte), so a directory's entries follow it directly: etc/ca-certificates/update.d
// before etc/ca-certificates.conf. GNU tar sets a directory's mtime once it sees an
// entry outside it; in plain byte order (fstree.Tree.Entries, newc's order) it would
// see one too early and the later entries would touch the directory again.
func ComparePaths(a, b string) int {
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

// member is one tarball entry: a tree record, and for every name of a hardlinked
// file but the first, the name that carries the bytes.
type member struct {
	e      *fstree.Entry
	linkTo string
}

// layout returns the tree's records in archive order (ComparePaths) with hardlink
// groups settled: the first name in that order carries the content, the others link
// to it. A group whose original name was deleted keeps its content that way too.
func layout(t *fstree.Tree) []member {
	entries := t.Entries()
	slices.SortFunc(entries, func(a, b *fstree.Entry) int { return ComparePaths(a.Path, b.Path) })
	first := map[int]string{}
	out := make([]member, 0, len(entries))
	for _, e := range entries {
		m := member{e: e}
		if id := e.Hardlink(); id != 0 && e.Kind == fstree.KindRegular {
			if f, ok := first[id]; ok {
				m.linkTo = f
			} else {
				first[id] = e.Path
			}
		}
		out = append(out, m)
	}
	return out
}

// header is m as a tar header, before the normalisation writeTar applies.
func (m member) header() (tar.Header, error) {
	e := m.e
	h := tar.Header{Name: e.Path, Mode: int64(e.Perm), Uid: int(e.UID), Gid: int(e.GID), PAXRecords: e.Xattrs}
	switch e.Kind {
	case fstree.KindRegular:
		h.Typeflag, h.Size = tar.TypeReg, e.Size
		if m.linkTo != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, m.linkTo, 0
		}
	case fstree.KindDir:
		h.Typeflag = tar.TypeDir
	case fstree.KindSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Linkname
	case fstree.KindCharDev:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(e.Major), int64(e.Minor)
	case fstree.KindBlockDev:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeBlock, int64(e.Major), int64(e.Minor)
	case fstree.KindFifo:
		h.Typeflag = tar.TypeFifo
	default:
		return h, fmt.Errorf("%s is a %s, which a rootfs tarball does not take", e.Path, e.Kind)
	}
	return h, nil
}

// writeTar writes members as a normalised tarball: a root entry, then every entry
// with mtime = epoch and nothing from the machine it was built on.
func writeTar(w io.Writer, members []member, epoch int64) error {
	tw := tar.NewWriter(w)
	mtime := time.Unix(epoch, 0)
	root := &tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755, ModTime: mtime}
	if err := tw.WriteHeader(root); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for _, m := range members {
		h, err := m.header()
		if err != nil {
			return err
		}
		h.Name = "./" + h.Name
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if h.Typeflag == tar.TypeLink {
			h.Linkname = "./" + h.Linkname
		}
		h.ModTime = mtime
		h.Format = tar.FormatUnknown
		if len(h.PAXRecords) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			return fmt.Errorf("%s: %w", m.e.Path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rc, err := m.e.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", m.e.Path, err)
		}
		n, err := io.CopyBuffer(tw, io.LimitReader(rc, h.Size+1), buf)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", m.e.Path, err)
		}
		if n != h.Size {
			return fmt.Errorf("%s: content is %d bytes, the listing said %d (changed while finishing?)", m.e.Path, n, h.Size)
		}
	}
	return tw.Close()
}
