package kata

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// StaticDir is where kata-deploy keeps guest artifacts, as the member prefix
// of Kata's own kata-static tarballs ("./opt/kata/..."; kata-deploy extracts
// members by that exact name).
const StaticDir = "./opt/kata/share/kata-containers"

// StaticEntry is one file or symlink in StaticDir.
type StaticEntry struct {
	// Name is a single path element inside StaticDir.
	Name string
	// LinkTarget makes the entry a symlink to another entry's Name (Kata's
	// links are relative, within the directory).
	LinkTarget string
	// Size and Open give a regular file's content; Open must yield exactly
	// Size bytes. Content is streamed, so a disk image need not fit in RAM.
	Size int64
	Open func() (io.ReadCloser, error)
}

// Fixed modes: Kata installs artifacts with `install --mode 0644`.
const (
	staticFileMode = 0o644
	staticDirMode  = 0o755
	staticLinkMode = 0o777
	ustarNameMax   = 100
)

// WriteStaticTarball writes the kata-static tree holding entries to w as an
// uncompressed tar (kata-deploy's is .tar.zst; compress the stream to match).
// The bytes depend only on entries and sourceDateEpoch: members are sorted,
// the parent directories ./opt ... ./opt/kata/share/kata-containers come
// first, every mtime is sourceDateEpoch, owners are uid/gid 0 with no user or
// group names, modes are fixed (0644 files, 0755 directories, 0777 links),
// and the format is pinned to USTAR so no PAX records carry host details
// (a name too long for USTAR is an error, not a format switch).
//
// Names must be plain single elements, unique, and every link must point at
// another entry, so the tree extracts inside its root with no dangling link.
func WriteStaticTarball(w io.Writer, sourceDateEpoch int64, entries []StaticEntry) error {
	sorted, err := checkStaticEntries(entries)
	if err != nil {
		return err
	}
	mtime := time.Unix(sourceDateEpoch, 0).UTC()
	tw := tar.NewWriter(w)
	header := func(h *tar.Header) error {
		h.ModTime, h.Format = mtime, tar.FormatUSTAR
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("kata: kata-static tar member %s: %w", h.Name, err)
		}
		return nil
	}
	dir := "."
	for _, elem := range strings.Split(strings.TrimPrefix(StaticDir, "./"), "/") {
		dir += "/" + elem
		if err := header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: staticDirMode}); err != nil {
			return err
		}
	}
	for _, e := range sorted {
		name := StaticDir + "/" + e.Name
		if e.LinkTarget != "" {
			if err := header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: e.LinkTarget, Mode: staticLinkMode}); err != nil {
				return err
			}
			continue
		}
		if err := header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: e.Size, Mode: staticFileMode}); err != nil {
			return err
		}
		if err := copyEntry(tw, e); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("kata: finishing kata-static tar: %w", err)
	}
	return nil
}

func copyEntry(tw *tar.Writer, e StaticEntry) error {
	r, err := e.Open()
	if err != nil {
		return fmt.Errorf("kata: opening kata-static entry %s: %w", e.Name, err)
	}
	defer r.Close()
	n, err := io.CopyN(tw, r, e.Size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("kata: kata-static entry %s: Open yielded %d bytes, Size says %d: pass the file's real size", e.Name, n, e.Size)
	}
	if err != nil {
		return fmt.Errorf("kata: reading kata-static entry %s after %d bytes: %w", e.Name, n, err)
	}
	// A longer file would be cut silently: the tar header already promised Size.
	if extra, _ := io.ReadFull(r, make([]byte, 1)); extra != 0 {
		return fmt.Errorf("kata: kata-static entry %s: Open yields more than the %d bytes Size says: pass the file's real size", e.Name, e.Size)
	}
	return nil
}

func checkStaticEntries(entries []StaticEntry) ([]StaticEntry, error) {
	sorted := append([]StaticEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	names := map[string]StaticEntry{}
	for _, e := range sorted {
		if err := checkPlainName(e.Name); err != nil {
			return nil, fmt.Errorf("kata: kata-static entry name %q %w", e.Name, err)
		}
		if _, dup := names[e.Name]; dup {
			return nil, fmt.Errorf("kata: kata-static entry %q appears twice: each name is one file in %s", e.Name, StaticDir)
		}
		names[e.Name] = e
		switch {
		case e.LinkTarget == "" && e.Open == nil:
			return nil, fmt.Errorf("kata: kata-static entry %q has neither content (Open) nor a LinkTarget: set one", e.Name)
		case e.LinkTarget != "" && e.Open != nil:
			return nil, fmt.Errorf("kata: kata-static entry %q has both content and LinkTarget %q: a symlink carries no content", e.Name, e.LinkTarget)
		case e.LinkTarget == "" && e.Size < 0:
			return nil, fmt.Errorf("kata: kata-static entry %q has size %d: pass the file's size", e.Name, e.Size)
		}
	}
	for _, e := range sorted {
		if e.LinkTarget == "" {
			continue
		}
		target, ok := names[e.LinkTarget]
		if !ok {
			return nil, fmt.Errorf("kata: kata-static link %q points at %q, which is not in the tree: add the file or fix the link", e.Name, e.LinkTarget)
		}
		if target.LinkTarget != "" {
			return nil, fmt.Errorf("kata: kata-static link %q points at another link %q: point it at the file %q, as Kata does", e.Name, e.LinkTarget, target.LinkTarget)
		}
	}
	return sorted, nil
}

// checkPlainName accepts one path element that cannot leave StaticDir.
func checkPlainName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("is empty: give the file's base name")
	case name == "." || name == "..":
		return fmt.Errorf("is not a file name: give the file's base name")
	case strings.ContainsAny(name, "/\\\x00") || path.Base(name) != name:
		return fmt.Errorf("is not a single path element: entries live directly in %s", StaticDir)
	case len(name) > ustarNameMax:
		// USTAR keeps the directory in its prefix field and the base name in
		// its 100-byte name field; longer would need PAX records.
		return fmt.Errorf("is %d bytes, more than the %d a USTAR member name holds: shorten it", len(name), ustarNameMax)
	}
	return nil
}
