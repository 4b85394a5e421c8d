package initrd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/guestforge/guestforge/internal/manifest"
)

// newc format facts the kernel (init/initramfs.c) relies on.
const (
	newcMagic     = "070701" // the only magic the kernel unpacks; "070702" is refused
	newcHeaderLen = 110
	// newcMaxName is PATH_MAX including the terminating NUL.
	newcMaxName = 4096
	// newcMaxField is the largest value an 8-hex-digit field holds.
	newcMaxField = 0xFFFFFFFF
	trailerName  = "TRAILER!!!"
)

// Owner overrides uid/gid for a path and everything under it.
type Owner struct {
	Path     string
	UID, GID uint32
}

// ParseOwner reads "PATH=UID:GID" (the CLI's --owner and images' owners).
func ParseOwner(s string) (Owner, error) {
	p, ids, ok := strings.Cut(s, "=")
	if !ok {
		return Owner{}, fmt.Errorf("owner %q: want PATH=UID:GID", s)
	}
	return parseOwnerIDs(p, ids)
}

// OwnersFromImage converts an image definition's owners map (path ->
// "uid:gid") into overrides, sorted by path so the result is stable.
func OwnersFromImage(m map[string]string) ([]Owner, error) {
	out := make([]Owner, 0, len(m))
	for p, ids := range m {
		o, err := parseOwnerIDs(p, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Owner) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

func parseOwnerIDs(p, ids string) (Owner, error) {
	c, err := CleanPath(p)
	if err != nil {
		return Owner{}, fmt.Errorf("owner %s: %w", p, err)
	}
	uid, gid, err := manifest.ParseOwner(ids)
	if err != nil {
		return Owner{}, fmt.Errorf("owner of %s: %w", p, err)
	}
	return Owner{Path: c, UID: uid, GID: gid}, nil
}

// WriteOptions are the normalisation inputs of WriteNewc.
type WriteOptions struct {
	// Epoch is every entry's mtime (SOURCE_DATE_EPOCH), in seconds.
	Epoch int64
	// Owners override the default uid/gid 0; the longest matching path wins.
	Owners []Owner
}

// Stats describes a written archive.
type Stats struct {
	Entries      int
	ContentBytes int64 // sum of regular file and symlink bodies
	ArchiveBytes int64 // uncompressed newc size
}

// WriteNewc writes t as a newc archive, normalised as the package doc says.
//
// It uses github.com/cavaliergopher/cpio v1.0.1 for the record layout and
// works around what that writer gets wrong for initramfs use (pinned by
// TestLibraryQuirks):
//   - it never writes rdevmajor/rdevminor, so every device node would come
//     out as 0:0; headerGuard patches them into the header bytes.
//   - it switches the shared magic to "070702" for good after one header
//     with a checksum, and the kernel refuses "070702"; we never set a
//     checksum and headerGuard rejects any header that is not "070701".
//   - it ignores Header.Linkname: a symlink's target must be written as the
//     body with Size = len(target).
//   - it formats fields with %08X and silently keeps the first 8 digits of
//     larger values; sizes, names and the epoch are range-checked here first.
//   - hardlinks are ours to number: every name of a file carries the same
//     inode and nlink, and only the first (in archive order) carries the
//     bytes, which both GNU cpio and the kernel link up on extraction.
func WriteNewc(w io.Writer, t *Tree, o WriteOptions) (Stats, error) {
	if o.Epoch < 0 || o.Epoch > newcMaxField {
		return Stats{}, fmt.Errorf("epoch %d does not fit newc's 32-bit mtime: use a SOURCE_DATE_EPOCH between 0 and %d", o.Epoch, int64(newcMaxField))
	}
	entries := t.Entries()
	mtime := time.Unix(o.Epoch, 0)

	linkCount := map[int]int{} // Entry.Hardlink -> names
	dirLinks := map[string]int{}
	for _, e := range entries {
		switch e.Kind {
		case KindRegular:
			if id := e.Hardlink(); id != 0 {
				linkCount[id]++
			}
		case KindDir:
			dirLinks[e.Path] += 2
			if parent := path.Dir(e.Path); parent != "." {
				dirLinks[parent]++
			}
		}
	}

	counter := &countingWriter{w: w}
	buf := bufio.NewWriterSize(counter, 256<<10)
	guard := &headerGuard{w: buf}
	cw := cpio.NewWriter(guard)

	var stats Stats
	var nextIno uint32
	linkIno := map[int]uint32{}
	copyBuf := make([]byte, 256<<10)
	for _, e := range entries {
		if len(e.Path)+1 > newcMaxName {
			return stats, fmt.Errorf("%s: name is %d bytes, over the kernel's PATH_MAX of %d", e.Path[:64]+"...", len(e.Path), newcMaxName-1)
		}
		uid, gid := ownerOf(e.Path, o.Owners)
		h := &cpio.Header{
			Name:    e.Path,
			Mode:    cpio.FileMode(typeBits[e.Kind] | e.Perm&PermMask),
			Uid:     int(uid),
			Guid:    int(gid),
			Links:   1,
			ModTime: mtime,
		}
		body := false
		switch e.Kind {
		case KindRegular:
			if e.Size > newcMaxField {
				return stats, fmt.Errorf("%s: %d bytes is over newc's 4 GiB file limit", e.Path, e.Size)
			}
			h.Size = e.Size
			body = true
			if n := linkCount[e.Hardlink()]; e.Hardlink() != 0 && n > 1 {
				h.Links = n
				if ino, ok := linkIno[e.Hardlink()]; ok {
					h.Inode = int64(ino)
					h.Size = 0
					body = false
				}
			}
		case KindDir:
			h.Links = dirLinks[e.Path]
		case KindSymlink:
			if len(e.Linkname)+1 > newcMaxName {
				return stats, fmt.Errorf("symlink %s: target is %d bytes, over PATH_MAX", e.Path, len(e.Linkname))
			}
			h.Size = int64(len(e.Linkname))
		}
		if h.Inode == 0 {
			nextIno++
			h.Inode = int64(nextIno)
			if id := e.Hardlink(); id != 0 && linkCount[id] > 1 {
				linkIno[id] = nextIno
			}
		}

		guard.arm(e.Major, e.Minor)
		if err := cw.WriteHeader(h); err != nil {
			return stats, fmt.Errorf("write header of %s: %w", e.Path, err)
		}
		if err := guard.disarmed(); err != nil {
			return stats, fmt.Errorf("write header of %s: %w", e.Path, err)
		}
		switch {
		case e.Kind == KindSymlink:
			if _, err := io.WriteString(cw, e.Linkname); err != nil {
				return stats, fmt.Errorf("write symlink %s: %w", e.Path, err)
			}
		case body:
			if err := copyBody(cw, e, copyBuf); err != nil {
				return stats, err
			}
		}
		stats.Entries++
		stats.ContentBytes += h.Size
	}
	guard.arm(0, 0)
	if err := cw.Close(); err != nil {
		return stats, fmt.Errorf("write cpio trailer: %w", err)
	}
	if err := guard.disarmed(); err != nil {
		return stats, fmt.Errorf("write cpio trailer: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return stats, fmt.Errorf("write archive: %w", err)
	}
	stats.ArchiveBytes = counter.n
	return stats, nil
}

// copyBody copies exactly e.Size bytes and fails if the source changed size
// since it was listed (a tree modified while being packed).
func copyBody(w io.Writer, e *Entry, buf []byte) error {
	rc, err := e.Open()
	if err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer rc.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(rc, e.Size), buf)
	if err != nil {
		return fmt.Errorf("copy %s (%s): %w", e.Path, e.Source(), err)
	}
	if n != e.Size {
		return fmt.Errorf("%s (%s) shrank from %d to %d bytes while packing: pack a tree nobody is writing to", e.Path, e.Source(), e.Size, n)
	}
	var one [1]byte
	if m, _ := rc.Read(one[:]); m > 0 {
		return fmt.Errorf("%s (%s) grew beyond %d bytes while packing: pack a tree nobody is writing to", e.Path, e.Source(), e.Size)
	}
	return nil
}

func ownerOf(p string, owners []Owner) (uid, gid uint32) {
	best := -1
	for _, o := range owners {
		if (p == o.Path || strings.HasPrefix(p, o.Path+"/")) && len(o.Path) > best {
			best, uid, gid = len(o.Path), o.UID, o.GID
		}
	}
	return uid, gid
}

// headerGuard sits between the cpio library and the output. When armed it
// expects the next 110-byte write to be a newc header: it checks the magic
// and fills in rdevmajor/rdevminor, which the library cannot express.
type headerGuard struct {
	w            io.Writer
	armed        bool
	major, minor uint32
	err          error
}

func (g *headerGuard) arm(major, minor uint32) {
	g.armed, g.major, g.minor, g.err = true, major, minor, nil
}

func (g *headerGuard) disarmed() error {
	if g.err != nil {
		return g.err
	}
	if g.armed {
		return fmt.Errorf("the cpio library wrote no %d-byte header: its output layout changed, re-check internal/initrd against it", newcHeaderLen)
	}
	return nil
}

func (g *headerGuard) Write(p []byte) (int, error) {
	if !g.armed || len(p) != newcHeaderLen {
		return g.w.Write(p)
	}
	g.armed = false
	if !bytes.HasPrefix(p, []byte(newcMagic)) {
		g.err = fmt.Errorf("the cpio library wrote magic %q; the kernel only unpacks %q", p[:6], newcMagic)
		return 0, g.err
	}
	var hdr [newcHeaderLen]byte
	copy(hdr[:], p)
	putHex(hdr[78:86], g.major)
	putHex(hdr[86:94], g.minor)
	if _, err := g.w.Write(hdr[:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

const hexDigits = "0123456789ABCDEF"

// putHex writes v as 8 upper-case hex digits, as the library does.
func putHex(b []byte, v uint32) {
	for i := 7; i >= 0; i-- {
		b[i] = hexDigits[v&0xF]
		v >>= 4
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
