package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"dagger.io/dagger"
)

// ExportDist exports dir (the dist/<version>/ layout) into dest so that no reader
// ever sees half of it: everything goes to a temporary directory inside tmpParent
// (which must be on dest's filesystem, e.g. the dist directory itself) and each
// top-level entry (an arch directory) then replaces its namesake in dest with a
// rename. A failed export leaves dest as it was. It returns the paths it placed,
// relative to dest, sorted.
func ExportDist(ctx context.Context, dir *dagger.Directory, dest, tmpParent string) ([]string, error) {
	if err := os.MkdirAll(tmpParent, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", tmpParent, err)
	}
	staged, err := os.MkdirTemp(tmpParent, ".export-")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(staged)
	if _, err := dir.Export(ctx, staged); err != nil {
		return nil, fmt.Errorf("export the build to %s: %w", staged, err)
	}
	return ReplaceEntries(staged, dest)
}

// rename is os.Rename; tests make it fail half way.
var rename = os.Rename

// ReplaceEntries moves every top-level entry of staged into dest, replacing what
// dest has under the same name: an arch directory is the whole target set of that
// arch, so files of an earlier build do not linger next to the new ones. Each
// replacement is two renames (old aside, new in); when one fails, the entries
// already replaced are put back. staged and dest must be on one filesystem.
func ReplaceEntries(staged, dest string) ([]string, error) {
	entries, err := os.ReadDir(staged)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("the build exported nothing to %s", staged)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dest, err)
	}
	// The old entries wait in a directory of their own until every new one is in.
	aside, err := os.MkdirTemp(filepath.Dir(staged), ".replaced-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(aside)
	type moved struct {
		name string
		old  bool
	}
	var done []moved
	undo := func() error {
		var errs []error
		for _, m := range slices.Backward(done) {
			target := filepath.Join(dest, m.name)
			if err := rename(target, filepath.Join(staged, m.name)); err != nil {
				errs = append(errs, err)
				continue
			}
			if m.old {
				if err := rename(filepath.Join(aside, m.name), target); err != nil {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(errs...)
	}
	for _, e := range entries {
		name := e.Name()
		target := filepath.Join(dest, name)
		m := moved{name: name}
		if _, err := os.Lstat(target); err == nil {
			if err := rename(target, filepath.Join(aside, name)); err != nil {
				return nil, errors.Join(fmt.Errorf("move the earlier %s aside: %w", target, err), undo())
			}
			m.old = true
		}
		if err := rename(filepath.Join(staged, name), target); err != nil {
			if m.old {
				err = errors.Join(err, rename(filepath.Join(aside, name), target))
			}
			return nil, errors.Join(fmt.Errorf("move the new %s into place: %w", target, err), undo())
		}
		done = append(done, m)
	}
	var placed []string
	for _, m := range done {
		err := filepath.WalkDir(filepath.Join(dest, m.name), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dest, p)
			placed = append(placed, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(placed)
	return placed, nil
}
