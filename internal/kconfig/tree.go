package kconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// Dir is where a checkout keeps the tree, beside toolchain.yaml.
const Dir = "kernel-configs"

// Directory names of the kernel-configs/ tree besides the arch names.
const (
	CommonDir    = "common"
	VariantsDir  = "variants"
	AllowlistDir = "allowlist"
	// DefaultVariant is common + arch with no variants/ directory.
	DefaultVariant = "default"
	fragmentExt    = ".conf"
)

// Tree is a parsed kernel-configs/ directory. Load parses every fragment and
// allowlist up front, so a typo in any file fails every build, not only the
// builds that happen to use it.
type Tree struct {
	// Name prefixes every position (e.g. "kernel-configs"), so errors point
	// at a path a person can open from the repo root.
	Name     string
	common   []*Fragment
	arches   map[string][]*Fragment
	variants map[string][]*Fragment
	allow    map[string]*Allowlist
}

// Load parses the tree at dir on disk; positions are reported under dir.
func Load(dir string) (*Tree, error) {
	return LoadFS(os.DirFS(dir), path.Clean(strings.TrimSuffix(dir, "/")))
}

// LoadFS parses a tree held in fsys; name prefixes positions in errors.
// Syntax errors of every fragment and allowlist are reported together (an
// ErrorList); a misplaced directory stops the load at once.
func LoadFS(fsys fs.FS, name string) (*Tree, error) {
	t := &Tree{Name: name, arches: map[string][]*Fragment{}, variants: map[string][]*Fragment{}, allow: map[string]*Allowlist{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading kernel config tree %s: %w", name, err)
	}
	archNames := arch.Names()
	var errs ErrorList
	for _, e := range entries {
		if !e.IsDir() {
			continue // README.md and friends
		}
		switch n := e.Name(); {
		case n == CommonDir:
			if t.common, err = t.readLevel(fsys, n, &errs); err != nil {
				return nil, err
			}
		case slices.Contains(archNames, n):
			if t.arches[n], err = t.readLevel(fsys, n, &errs); err != nil {
				return nil, err
			}
		case n == VariantsDir:
			if err := t.readVariants(fsys, &errs); err != nil {
				return nil, err
			}
		case n == AllowlistDir:
			if err := t.readAllowlists(fsys, &errs); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: unknown directory %q: use %s/, %s/, %s/ or an arch directory (%s)",
				name, n, CommonDir, VariantsDir, AllowlistDir, strings.Join(archNames, ", "))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("kernel config tree %s has %d syntax errors:\n%w", name, len(errs), errs)
	}
	if len(t.common) == 0 {
		return nil, fmt.Errorf("%s: no %s/*%s fragments: is this the kernel-configs directory?", name, CommonDir, fragmentExt)
	}
	return t, nil
}

func (t *Tree) display(p string) string { return path.Join(t.Name, p) }

// readLevel parses dir/*.conf in lexical order; subdirectories are refused
// because nothing would ever read them.
// Syntax errors go to errs so the load can go on and report them all.
func (t *Tree) readLevel(fsys fs.FS, dir string, errs *ErrorList) ([]*Fragment, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.display(dir), err)
	}
	var out []*Fragment
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			return nil, fmt.Errorf("%s: nested directories are not read: move its fragments up or into %s/<name>/", t.display(p), VariantsDir)
		}
		if !strings.HasSuffix(e.Name(), fragmentExt) {
			continue
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.display(p), err)
		}
		f, err := Parse(t.display(p), data)
		if err != nil {
			*errs = errs.appendErrors(err, Pos{t.display(p), 0})
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (t *Tree) readVariants(fsys fs.FS, errs *ErrorList) error {
	entries, err := fs.ReadDir(fsys, VariantsDir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.display(VariantsDir), err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n := e.Name()
		if !validVariant(n) || n == DefaultVariant {
			return fmt.Errorf("%s: bad variant directory name (lower-case letters, digits, -; %q is reserved for common + arch)",
				t.display(path.Join(VariantsDir, n)), DefaultVariant)
		}
		before := len(*errs)
		frags, err := t.readLevel(fsys, path.Join(VariantsDir, n), errs)
		if err != nil {
			return err
		}
		if len(frags) == 0 && len(*errs) == before {
			return fmt.Errorf("%s: variant has no *%s fragments", t.display(path.Join(VariantsDir, n)), fragmentExt)
		}
		t.variants[n] = frags
	}
	return nil
}

func (t *Tree) readAllowlists(fsys fs.FS, errs *ErrorList) error {
	entries, err := fs.ReadDir(fsys, AllowlistDir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.display(AllowlistDir), err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), fragmentExt) {
			continue
		}
		p := path.Join(AllowlistDir, e.Name())
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", t.display(p), err)
		}
		a, err := ParseAllowlist(t.display(p), data)
		if err != nil {
			*errs = errs.appendErrors(err, Pos{t.display(p), 0})
			continue
		}
		t.allow[strings.TrimSuffix(e.Name(), fragmentExt)] = a
	}
	return nil
}

// Variants lists the buildable variants: "default" and every variants/<name>.
func (t *Tree) Variants() []string {
	out := []string{DefaultVariant}
	for n := range t.variants {
		out = append(out, n)
	}
	sort.Strings(out[1:])
	return out
}

// Fragments lists every parsed fragment in merge-level order (common, arches
// in table order, variants by name); for linting and tests.
func (t *Tree) Fragments() []*Fragment {
	out := slices.Clone(t.common)
	for _, n := range arch.Names() {
		out = append(out, t.arches[n]...)
	}
	for _, v := range t.Variants()[1:] {
		out = append(out, t.variants[v]...)
	}
	return out
}

// Allowlist returns kernel-configs/allowlist/<series>.conf, or an empty list
// when the series has none (a new series starts with nothing excused).
func (t *Tree) Allowlist(series string) (*Allowlist, error) {
	if series == "" || strings.ContainsAny(series, "/\\") {
		return nil, fmt.Errorf("bad kernel series %q: want major.minor such as 6.12", series)
	}
	if a, ok := t.allow[series]; ok {
		return a, nil
	}
	return &Allowlist{Path: t.display(path.Join(AllowlistDir, series+fragmentExt))}, nil
}

// Series maps a kernel version (6.12.117, 6.12, 6.13-rc2) to its series (6.12).
func Series(version string) (string, error) {
	v, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), "-")
	parts := strings.Split(v, ".")
	if len(parts) < 2 || !allDigits(parts[0]) || !allDigits(parts[1]) {
		return "", errors.New("bad kernel version " + version + ": want major.minor[.patch] such as 6.12.117")
	}
	return parts[0] + "." + parts[1], nil
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
