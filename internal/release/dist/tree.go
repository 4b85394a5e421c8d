// Package dist models one release directory, dist/<version>/, as
// docs/architecture.md lays it out: one flat directory per architecture
// holding the build's artifacts, and next to them the files the release stage
// adds (SHA256SUMS, Sigstore bundles, SBOMs, provenance). Every later stage
// (sums, sbom, provenance, sign, publish, verify) asks this package which file
// is what, so the layout is decided in one place. The artifacts' names and
// kinds are internal/artifact's; the release stage's own files are named here.
package dist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
)

// Names of the files the release stage writes at the top of dist/<version>/.
const (
	SumsFile       = "SHA256SUMS"
	ProvenanceFile = "provenance.intoto.jsonl"
	SBOMIndexFile  = "sbom.spdx.json"
	// BundleSuffix is appended to a file's name for its Sigstore bundle.
	BundleSuffix = ".sigstore.json"
)

// Tree is one dist/<version>/ directory as Open found it: a snapshot, so
// reopen it after writing files into it.
type Tree struct {
	// Root is the absolute path of dist/<version>.
	Root string
	// Version is the release version: the directory's base name.
	Version string
	// Arches are the architecture directories, in internal/arch table order.
	Arches []ArchDir
	// Top are the regular files directly under Root, slash-separated and sorted.
	Top []string
	// Partial marks a tree holding only some of the release's arches (pulled
	// from a <version>-<arch> tag): checks skip entries of absent arches.
	Partial bool
}

// ArchDir is dist/<version>/<arch>/.
type ArchDir struct {
	Arch arch.Arch
	// Files are every regular file in the directory as paths relative to the
	// tree root ("x86_64/vmlinuz-..."), sorted.
	Files   []string
	Kernels []Kernel
	Images  []Image
	// Firmware are the OVMF builds (ovmf-<platform>.fd), by platform.
	Firmware []Named
	// ReferenceValues are the reference-values-<variant>.json files, by
	// variant.
	ReferenceValues []Named
}

// Named is a file of the arch directory known by one word: a firmware's
// edk2 platform, a reference-values file's variant.
type Named struct {
	Name string
	// Path is relative to the tree root.
	Path string
}

// FirmwareOf is the tree-relative path of the firmware built for the edk2
// platform (artifact.FirmwareAmdSev, ...), if the directory has it.
func (ad ArchDir) FirmwareOf(platform string) (string, bool) {
	for _, f := range ad.Firmware {
		if f.Name == platform {
			return f.Path, true
		}
	}
	return "", false
}

// Kernel is one kernel build: the files sharing a <kver>-<cfg> suffix.
type Kernel struct {
	Version  string // upstream kernel version, e.g. 6.12.117
	ConfigID string // short content hash of the merged config fragments
	// Paths relative to the tree root; empty when the file is absent.
	Vmlinuz, Vmlinux, Config, SystemMap string
}

// BootImage is the file a boot loader (QEMU -kernel) takes: the compressed
// image where the arch has one, else the ELF vmlinux (ppc64le pseries).
func (k Kernel) BootImage() string {
	if k.Vmlinuz != "" {
		return k.Vmlinuz
	}
	return k.Vmlinux
}

// Image is one guest image's files in an arch directory.
type Image struct {
	Name string
	// Paths relative to the tree root; empty when the file is absent.
	Initrd, Rootfs, Verity string
}

// Open reads dir as a dist/<version>/ tree. It refuses anything the layout
// does not allow (unknown directories, non-canonical arch names, nested
// directories, symlinks) because every file here is hashed, signed and
// published: a surprise in the tree is a surprise in the release.
func Open(dir string) (*Tree, error) { return open(dir, nil) }

// OpenSkipping is Open for a dist directory that is itself the tree, as
// `release build` and `dagger call ... export --path=dist/` leave it: the
// build's bookkeeping beside the arch directories (the directories named in
// skip, e.g. logs/, and hidden entries such as an export in progress) is not
// part of the tree. A release tree, dist/<version>/, is opened with Open.
func OpenSkipping(dir string, skip ...string) (*Tree, error) {
	return open(dir, func(name string) bool {
		return strings.HasPrefix(name, ".") || slices.Contains(skip, name)
	})
}

func open(dir string, skip func(name string) bool) (*Tree, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve dist directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read dist directory: %w (pass dist/<version>/, the directory the build exported)", err)
	}
	t := &Tree{Root: root, Version: filepath.Base(root)}
	byName := map[string]ArchDir{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case skip != nil && skip(name):
		case e.Type().IsRegular():
			t.Top = append(t.Top, name)
		case e.IsDir():
			a, err := arch.Parse(name)
			if err != nil || a.Name != name {
				return nil, fmt.Errorf("%s: unexpected directory %q in a dist tree: only canonical architecture directories (%s) belong here",
					root, name, strings.Join(arch.Names(), ", "))
			}
			ad, err := readArchDir(root, a)
			if err != nil {
				return nil, err
			}
			byName[name] = ad
		default:
			return nil, fmt.Errorf("%s: %q is not a regular file or directory (symlinks and special files are not released)", root, name)
		}
	}
	for _, a := range arch.All() {
		if ad, ok := byName[a.Name]; ok {
			t.Arches = append(t.Arches, ad)
		}
	}
	sort.Strings(t.Top)
	return t, nil
}

func readArchDir(root string, a arch.Arch) (ArchDir, error) {
	ad := ArchDir{Arch: a}
	dir := filepath.Join(root, a.Name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ad, fmt.Errorf("read %s: %w", dir, err)
	}
	kernels := map[string]*Kernel{}
	images := map[string]*Image{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return ad, fmt.Errorf("%s: %q is not a regular file: arch directories are flat", dir, e.Name())
		}
		name := e.Name()
		rel := path.Join(a.Name, name)
		ad.Files = append(ad.Files, rel)
		if releaseOutput(rel) {
			continue // a bundle or SBOM is about a file, it is not one
		}
		kind, parts, ok := artifact.KindOf(name)
		switch {
		case !ok:
		case kind == artifact.Firmware:
			ad.Firmware = append(ad.Firmware, Named{Name: parts.Platform, Path: rel})
		case kind == artifact.ReferenceValues:
			ad.ReferenceValues = append(ad.ReferenceValues, Named{Name: parts.Variant, Path: rel})
		default:
			place(kernels, images, rel, kind, parts)
		}
	}
	// ReadDir sorts by name, and the name is the prefix plus this word: the
	// lists are already in name order.
	sort.Strings(ad.Files)
	for _, k := range kernels {
		ad.Kernels = append(ad.Kernels, *k)
	}
	sort.Slice(ad.Kernels, func(i, j int) bool {
		return ad.Kernels[i].Version+"-"+ad.Kernels[i].ConfigID < ad.Kernels[j].Version+"-"+ad.Kernels[j].ConfigID
	})
	for _, im := range images {
		ad.Images = append(ad.Images, *im)
	}
	sort.Slice(ad.Images, func(i, j int) bool { return ad.Images[i].Name < ad.Images[j].Name })
	return ad, nil
}

// place files the artifact rel, of kind and parts, under its kernel build
// or its image. An image is known by its initrd, disk image or raw hash tree;
// its verity params and command line only go with one of those, and the arch's
// root hash list with none.
func place(kernels map[string]*Kernel, images map[string]*Image, rel string, kind artifact.Kind, parts artifact.Parts) {
	if kind.IsKernel() {
		key := parts.Release + "-" + parts.ConfigID
		k := kernels[key]
		if k == nil {
			k = &Kernel{Version: parts.Release, ConfigID: parts.ConfigID}
			kernels[key] = k
		}
		switch kind {
		case artifact.KernelImage:
			k.Vmlinuz = rel
		case artifact.Kernel:
			k.Vmlinux = rel
		case artifact.KernelConfig:
			k.Config = rel
		case artifact.SystemMap:
			k.SystemMap = rel
		}
		return
	}
	switch kind {
	case artifact.Initrd, artifact.RootfsImage, artifact.VerityTree:
	default:
		return
	}
	im := images[parts.Image]
	if im == nil {
		im = &Image{Name: parts.Image}
		images[parts.Image] = im
	}
	switch kind {
	case artifact.Initrd:
		im.Initrd = rel
	case artifact.RootfsImage:
		im.Rootfs = rel
	case artifact.VerityTree:
		im.Verity = rel
	}
}

// Path turns a tree-relative slash path into an absolute file path.
func (t *Tree) Path(rel string) string { return filepath.Join(t.Root, filepath.FromSlash(rel)) }

// Arch returns the directory for a, if the tree has one.
func (t *Tree) Arch(a arch.Arch) (ArchDir, bool) {
	for _, ad := range t.Arches {
		if ad.Arch.Name == a.Name {
			return ad, true
		}
	}
	return ArchDir{}, false
}

// Covers reports whether rel belongs to the part of the release the tree
// holds: always, unless the tree is Partial and rel is in an absent arch.
func (t *Tree) Covers(rel string) bool {
	dir, _, nested := strings.Cut(rel, "/")
	if !nested || !t.Partial {
		return true
	}
	for _, ad := range t.Arches {
		if ad.Arch.Name == dir {
			return true
		}
	}
	return false
}

// IsBundle reports whether rel is a Sigstore bundle written by the sign stage.
func IsBundle(rel string) bool { return strings.HasSuffix(rel, BundleSuffix) }

// IsSBOM reports whether rel is an SPDX document written by the release stage.
func IsSBOM(rel string) bool { return strings.HasSuffix(rel, artifact.SBOMSuffix) }

// ImageSBOM is where the SBOM of image for arch a lives.
func ImageSBOM(a arch.Arch, image string) string {
	return path.Join(a.Name, artifact.ImageSBOMName(image))
}

// releaseOutput reports whether rel is written by the release stage itself
// (and therefore is not a build artifact).
func releaseOutput(rel string) bool {
	switch rel {
	case SumsFile, ProvenanceFile, SBOMIndexFile:
		return true
	}
	return IsBundle(rel) || IsSBOM(rel)
}

// Artifacts are the build's outputs: every file in the tree except those the
// release stage writes. They are the provenance subjects.
func (t *Tree) Artifacts() []string {
	var out []string
	for _, rel := range t.all() {
		if !releaseOutput(rel) {
			out = append(out, rel)
		}
	}
	return out
}

// SBOMs are the SPDX documents present in the tree.
func (t *Tree) SBOMs() []string {
	var out []string
	for _, rel := range t.all() {
		if IsSBOM(rel) {
			out = append(out, rel)
		}
	}
	return out
}

// Summed is what SHA256SUMS lists: artifacts, SBOMs and provenance; every file
// except SHA256SUMS itself and the bundles (which sign these files).
func (t *Tree) Summed() []string {
	var out []string
	for _, rel := range t.all() {
		if rel != SumsFile && !IsBundle(rel) {
			out = append(out, rel)
		}
	}
	return out
}

// Bundles are the Sigstore bundles present in the tree.
func (t *Tree) Bundles() []string {
	var out []string
	for _, rel := range t.all() {
		if IsBundle(rel) {
			out = append(out, rel)
		}
	}
	return out
}

// Has reports whether rel names a regular file of the tree.
func (t *Tree) Has(rel string) bool {
	for _, f := range t.all() {
		if f == rel {
			return true
		}
	}
	return false
}

// all is every regular file, sorted bytewise (the order sha256sum and
// LC_ALL=C sort use, so listings are stable across locales).
func (t *Tree) all() []string {
	out := append([]string(nil), t.Top...)
	for _, ad := range t.Arches {
		out = append(out, ad.Files...)
	}
	sort.Strings(out)
	return out
}

// CheckRel refuses a tree-relative path that could leave the tree: it is the
// guard for names that come from outside (a SHA256SUMS line, an OCI layer
// title, a provenance subject).
func CheckRel(rel string) error {
	if rel == "" {
		return errors.New("empty path")
	}
	if path.IsAbs(rel) || strings.Contains(rel, "\\") || path.Clean(rel) != rel || rel == "." ||
		rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("path %q is not a clean relative path inside the dist tree", rel)
	}
	if strings.Count(rel, "/") > 1 {
		return fmt.Errorf("path %q is deeper than <arch>/<file>", rel)
	}
	if !fs.ValidPath(rel) {
		return fmt.Errorf("path %q is not valid", rel)
	}
	return nil
}
