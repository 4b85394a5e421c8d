package rootfs

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/fstree"
)

// overlay copies the files/ directory over the tree: root-owned, permissions as on
// disk (git keeps only the executable bit), parents resolved through the tree's
// symlinks (Tree.ResolveDir), so a file under lib/ lands in usr/lib on a merged-/usr
// Debian. WalkDir follows no symlink, so the walk stays inside dir, and it stops at
// maxEntries names, the bound of the tarball it is laid over.
func overlay(t *fstree.Tree, dir string) error {
	seen := 0
	return filepath.WalkDir(dir, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, host)
		if err != nil || rel == "." {
			return err
		}
		if seen++; seen > maxEntries {
			return fmt.Errorf("more than %d files: an overlay holds the few files an image adds; install the rest as packages", maxEntries)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		parent, err := t.ResolveDir(path.Dir(filepath.ToSlash(rel)))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		name := path.Join(parent, path.Base(filepath.ToSlash(rel)))
		perm := uint32(info.Mode().Perm())
		var e *fstree.Entry
		switch {
		case info.Mode().IsRegular():
			e = &fstree.Entry{Path: name, Kind: fstree.KindRegular, Perm: perm, Size: info.Size(), Data: fstree.HostFile(host)}
		case info.IsDir():
			// lib/ in the overlay is the rootfs's lib -> usr/lib: follow the link.
			if name, err = t.ResolveDir(name); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if old, ok := t.Lookup(name); ok && old.Kind == fstree.KindDir {
				return nil // the rootfs's directory keeps its owner and mode
			}
			e = &fstree.Entry{Path: name, Kind: fstree.KindDir, Perm: perm}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(host)
			if err != nil {
				return err
			}
			e = &fstree.Entry{Path: name, Kind: fstree.KindSymlink, Perm: 0o777, Linkname: target}
		default:
			return fmt.Errorf("%s is a %s: an overlay holds files, directories and symlinks only", rel, info.Mode().Type())
		}
		// A file or link of the overlay replaces a directory of the rootfs whole.
		if old, ok := t.Lookup(name); ok && old.Kind == fstree.KindDir && e.Kind != fstree.KindDir {
			if err := t.Remove(name); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		if err := t.Add(e); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	})
}
