package initrd

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/guestforge/guestforge/internal/fstree"
)

// FromDir loads the tree under root. Nothing is followed: symlinks are
// recorded as links (lstat), so a link can never make the packer read outside
// root. Host owners, times, device and inode numbers are dropped; file
// content is read later, when the archive is written.
//
// Absolute-symlink rule: a target that starts with root's own host path (a
// tree built with `ln -s $ROOT/usr/lib/x ...`) would dangle in the guest; it
// is rewritten to the same path inside the initrd and listed in
// Tree.Rewrites. Other absolute targets are kept: the guest resolves them
// against the initrd's "/".
func FromDir(root string) (*Tree, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("initrd root %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("initrd root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("initrd root %s is not a directory", root)
	}
	t := NewTree()
	// Hardlinks are found by host (device, inode); the host numbers are only
	// used as a key here and never written.
	type devIno struct{ dev, ino uint64 }
	seen := map[devIno]string{}

	err = filepath.WalkDir(abs, func(hostPath string, d fs.DirEntry, walkErr error) error {
		if walkErr != nil {
			return fmt.Errorf("read %s: %w", hostPath, walkErr)
		}
		if hostPath == abs {
			return nil
		}
		rel, err := filepath.Rel(abs, hostPath)
		if err != nil {
			return err
		}
		p, err := CleanPath(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", hostPath, err)
		}
		sys, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no unix stat data on this platform", hostPath)
		}
		perm := uint32(sys.Mode) & PermMask
		mode := info.Mode()
		e := &Entry{Path: p, Perm: perm}
		switch {
		case mode.IsRegular():
			e.Kind = KindRegular
			e.Size = info.Size()
			e.Data = fstree.HostFile(hostPath)
			if sys.Nlink > 1 {
				key := devIno{uint64(sys.Dev), uint64(sys.Ino)}
				if first, ok := seen[key]; ok {
					// Another name of an inode met before: it shares that record.
					return t.AddHardlink(p, first)
				}
				seen[key] = p
			}
		case mode.IsDir():
			e.Kind = KindDir
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(hostPath)
			if err != nil {
				return fmt.Errorf("read symlink %s: %w", hostPath, err)
			}
			if rest, ok := strings.CutPrefix(target, abs+"/"); ok {
				t.Rewrites = append(t.Rewrites, fmt.Sprintf("%s: %s -> /%s", p, target, rest))
				target = "/" + rest
			}
			e.Kind = KindSymlink
			e.Perm = 0o777
			e.Linkname = target
		case mode&fs.ModeDevice != 0:
			e.Kind = KindBlockDev
			if mode&fs.ModeCharDevice != 0 {
				e.Kind = KindCharDev
			}
			e.Major, e.Minor = unix.Major(uint64(sys.Rdev)), unix.Minor(uint64(sys.Rdev))
		case mode&fs.ModeNamedPipe != 0:
			e.Kind = KindFifo
		case mode&fs.ModeSocket != 0:
			e.Kind = KindSocket
		default:
			return fmt.Errorf("%s: unsupported file type %v", hostPath, mode.Type())
		}
		return t.Add(e)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
