package cut

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/guestforge/guestforge/internal/sha256sum"
)

// hasher digests files under the dist root, remembering digests by
// (size, mtime, inode) so that snapshotting the tree before and after every
// stage hashes each multi-hundred-megabyte image once, not fourteen times.
type hasher struct {
	root  string
	cache map[string]cached
}

type cached struct {
	size, mtime int64
	ino         uint64
	digest      string
}

func newHasher(root string) *hasher { return &hasher{root: root, cache: map[string]cached{}} }

// digest returns "sha256:<hex>" of the file at rel (relative to the root).
func (h *hasher) digest(rel string) (string, error) {
	p := filepath.Join(h.root, filepath.FromSlash(rel))
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	key := cached{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key.ino = st.Ino
	}
	if c, ok := h.cache[rel]; ok && c.size == key.size && c.mtime == key.mtime && c.ino == key.ino {
		return c.digest, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, _, err := sha256sum.Reader(f)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	key.digest = "sha256:" + sum
	h.cache[rel] = key
	return key.digest, nil
}

// snapshot digests every regular file under the given directories (relative
// to the root); missing directories are empty.
func (h *hasher) snapshot(dirs ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, d := range dirs {
		base := filepath.Join(h.root, d)
		err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == base {
					return filepath.SkipDir
				}
				return err
			}
			if !e.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(h.root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			// Temporary files of an atomic write and the lock are not outputs.
			if name := e.Name(); name == lockName || strings.HasPrefix(name, ".state-") {
				return nil
			}
			dg, err := h.digest(rel)
			if err != nil {
				return err
			}
			out[rel] = dg
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", base, err)
		}
	}
	return out, nil
}

// newOutputs are the files of the tree that no finished stage recorded:
// what the stage that just ran wrote. Files an earlier, failed attempt of the
// same stage left behind count too, even when the rerun wrote identical
// bytes: they are in the tree, so they are released and must be protected.
func newOutputs(st *State, after map[string]string) map[string]string {
	owned := map[string]bool{}
	for _, rec := range st.Stages {
		for p := range rec.Files {
			owned[p] = true
		}
	}
	out := map[string]string{}
	for p, d := range after {
		if !owned[p] {
			out[p] = d
		}
	}
	return out
}
