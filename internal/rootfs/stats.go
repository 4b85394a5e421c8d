package rootfs

import (
	"path"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/fstree"
)

// Stats describes a finished rootfs; the disk image is sized from it.
type Stats struct {
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

func statsOf(members []member) Stats {
	var st Stats
	usage := map[string]int64{}
	children := map[string]int64{} // directory -> bytes of its entries' names
	for _, m := range members {
		e := m.e
		st.Entries++
		parent := path.Dir(e.Path)
		// An ext4 directory entry is 8 bytes plus the name, rounded to 4.
		children[parent] += 8 + int64((len(path.Base(e.Path))+3)&^3)
		switch {
		case e.Kind == fstree.KindRegular && m.linkTo != "":
			st.Files++ // another name of an inode counted already
		case e.Kind == fstree.KindRegular:
			st.Files++
			st.ContentBytes += e.Size
			st.DataBlocks += (e.Size + 4095) / 4096
			comps := strings.Split(e.Path, "/")
			usage[strings.Join(comps[:min(len(comps)-1, 3)], "/")] += e.Size
		case e.Kind == fstree.KindDir:
			st.Dirs++
		case e.Kind == fstree.KindSymlink:
			st.Symlinks++
			if len(e.Linkname) >= 60 {
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
