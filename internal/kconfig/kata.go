package kconfig

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// Kata Containers' fragment directory (tools/packaging/kernel/configs/fragments)
// as build-kernel.sh reads it for a plain or a confidential guest kernel.
const (
	// KataConfidentialDir is <kata-arch>/confidential/: the confidential
	// build's extra fragments (build-kernel.sh -x).
	KataConfidentialDir = "confidential"
	// KataVariant is the variant name LoadKata gives that build.
	KataVariant = "confidential"
	// kataTmpfs is the one common fragment only confidential builds add.
	kataTmpfs = "common/confidential_containers/tmpfs.conf"
)

// LoadKata reads a Kata Containers kernel fragment directory (the one holding
// common/, x86_64/, arm64/, s390/, powerpc/ and whitelist.conf) into a Tree,
// so Kata's own fragment set merges and verifies like ours.
func LoadKata(dir string) (*Tree, error) {
	return LoadKataFS(os.DirFS(dir), path.Clean(strings.TrimSuffix(dir, "/")))
}

// LoadKataFS is LoadKata over fsys; name prefixes positions in errors.
//
// The mapping follows build-kernel.sh (get_kernel_frag_path):
//   - common/*.conf is the common level; a file containing "!<kata-arch>"
//     anywhere (Kata greps for it, so "!s390x" also excludes s390) is left out
//     for that arch, and one containing "!confidential" for the confidential
//     variant.
//   - <kata-arch>/*.conf is the arch level (x86_64, arm64, s390, powerpc).
//   - variant "confidential" adds <kata-arch>/confidential/*.conf and
//     common/confidential_containers/tmpfs.conf.
//
// Everything else (build-type/, debug/, gpu/*.conf.in, measured-rootfs and
// module-signing fragments, whitelist*.conf) belongs to build options this
// mapping does not model and is not read.
func LoadKataFS(fsys fs.FS, name string) (*Tree, error) {
	t := &Tree{Name: name, arches: map[string][]*Fragment{}, variants: map[string][]*Fragment{}, allow: map[string]*Allowlist{}}
	var errs ErrorList
	common, err := t.readKataDir(fsys, CommonDir, true, &errs)
	if err != nil {
		return nil, err
	}
	if len(common) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("%s: no %s/*%s fragments: is this Kata's tools/packaging/kernel/configs/fragments directory?", name, CommonDir, fragmentExt)
	}
	t.common = common
	var confidential []*Fragment
	var confArches []string
	for _, a := range arch.All() {
		frags, err := t.readKataDir(fsys, a.KataArch, false, &errs)
		if err != nil {
			return nil, err
		}
		t.arches[a.Name] = frags
		conf, err := t.readKataDir(fsys, path.Join(a.KataArch, KataConfidentialDir), false, &errs)
		if err != nil {
			return nil, err
		}
		for _, f := range conf {
			f.Select.Arches = []string{a.Name}
		}
		if len(conf) > 0 {
			confArches = append(confArches, a.Name)
		}
		confidential = append(confidential, conf...)
	}
	if len(confidential) > 0 {
		tmpfs, err := t.readKataFile(fsys, kataTmpfs, false, &errs)
		if err != nil {
			return nil, err
		}
		if tmpfs != nil {
			// Only where build-kernel.sh -x works: an arch without
			// <kata-arch>/confidential/ has no confidential build.
			tmpfs.Select.Arches = confArches
			confidential = append(confidential, tmpfs)
		}
		sort.Slice(confidential, func(i, j int) bool { return confidential[i].Path < confidential[j].Path })
		t.variants[KataVariant] = confidential
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("kata fragment directory %s has %d syntax errors:\n%w", name, len(errs), errs)
	}
	return t, nil
}

// kataExclusions turns Kata's "!<kata-arch>" and "!confidential" tags into
// canonical arch and variant exclusions.
func kataExclusions(data []byte) (arches, variants []string) {
	for _, a := range arch.All() {
		if bytes.Contains(data, []byte("!"+a.KataArch)) {
			arches = append(arches, a.Name)
		}
	}
	if bytes.Contains(data, []byte("!"+KataVariant)) {
		variants = []string{KataVariant}
	}
	return arches, variants
}

// readKataDir parses dir/*.conf (subdirectories are other build options); a
// missing dir is no fragments, because Kata has no directory for some arches.
// tags: honour "!<arch>" and "!confidential" (build-kernel.sh only greps
// common/ for them).
func (t *Tree) readKataDir(fsys fs.FS, dir string, tags bool, errs *ErrorList) ([]*Fragment, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", t.display(dir), err)
	}
	var out []*Fragment
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), fragmentExt) {
			continue
		}
		f, err := t.readKataFile(fsys, path.Join(dir, e.Name()), tags, errs)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// readKataFile parses one fragment; a syntax error goes to errs and yields no
// fragment.
func (t *Tree) readKataFile(fsys fs.FS, p string, tags bool, errs *ErrorList) (*Fragment, error) {
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.display(p), err)
	}
	f, err := Parse(t.display(p), data)
	if err != nil {
		*errs = errs.appendErrors(err, Pos{t.display(p), 0})
		return nil, nil
	}
	// Kata's fragments carry no guestforge directives; the selector comes
	// from its tags alone.
	f.Select = Selector{}
	if tags {
		f.Select.ExcludeArches, f.Select.ExcludeVariants = kataExclusions(data)
	}
	return f, nil
}
