package report

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// The kinds of artifact, in the order the report lists them within an arch.
var kinds = []string{
	"vmlinuz", "vmlinux", "config", "system-map",
	"initrd", "rootfs", "verity", "root-hash",
	"sbom", "signature", "checksums", "provenance", "other",
}

func kindRank(k string) int {
	if i := slices.Index(kinds, k); i >= 0 {
		return i
	}
	return len(kinds)
}

// ownFiles are written by the report stage and builds next to the trees; they
// are never artifacts.
var ownFiles = []string{JSONFile, HTMLFile, RecordFile}

// ownDirs sit beside the trees too: step logs, and the reproducibility gate's
// trees and verdict (`make repro` after `make` puts them in dist/repro/).
var ownDirs = []string{LogsDir, ReproDir}

// findTree picks the dist tree the report covers. distDir is either a tree
// itself (arch directories directly inside, as `dagger call ... export
// --path=dist/` leaves it) or holds dist/<version>/ trees; then version picks
// one, or the only one is taken. prefix is the tree's path relative to
// distDir ("" or the version directory), ok is false when there is no tree.
func findTree(distDir, version string) (root, prefix string, ok bool, err error) {
	entries, err := os.ReadDir(distDir)
	if err != nil {
		return "", "", false, fmt.Errorf("read dist directory: %w (build first, or pass --dist)", err)
	}
	var versions []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || slices.Contains(ownDirs, name) || strings.HasPrefix(name, ".") {
			continue
		}
		if a, err := arch.Parse(name); err == nil && a.Name == name {
			return distDir, "", true, nil
		}
		versions = append(versions, name)
	}
	switch {
	case version != "" && slices.Contains(versions, version):
		return filepath.Join(distDir, version), version, true, nil
	case version != "" && len(versions) > 0:
		return "", "", false, fmt.Errorf("%s has no tree for version %s (it has %s): pass the version that was built",
			distDir, version, strings.Join(versions, ", "))
	case len(versions) == 1:
		return filepath.Join(distDir, versions[0]), versions[0], true, nil
	case len(versions) > 1:
		return "", "", false, fmt.Errorf("%s holds several release trees (%s): pass --version to pick one",
			distDir, strings.Join(versions, ", "))
	}
	return "", "", false, nil
}

// scan lists every artifact of the tree at root with its kind, size and
// digest. Which file is what is decided by internal/release/dist, the one
// owner of the layout; prefix is prepended to paths so they are relative to
// the dist directory.
func scan(root, prefix string) ([]Artifact, error) {
	open := dist.Open
	if prefix == "" {
		// The dist directory is the tree itself: its logs/ and repro/ sit beside the arches.
		open = func(dir string) (*dist.Tree, error) { return dist.OpenSkipping(dir, ownDirs...) }
	}
	t, err := open(root)
	if err != nil {
		return nil, fmt.Errorf("scan dist tree: %w", err)
	}
	var out []Artifact
	add := func(rel, archName, kind, image string) error {
		a := Artifact{
			Path: path.Join(prefix, rel), Name: path.Base(rel),
			Arch: archName, Kind: kind, Image: image, Status: StatusOK,
			CacheHit: Unknown, Reproducible: Unknown, Maintainers: []string{},
		}
		size, sum, err := digest(t.Path(rel))
		if err != nil {
			return err
		}
		a.Size, a.SHA256 = size, sum
		out = append(out, a)
		return nil
	}
	for _, rel := range t.Top {
		if prefix == "" && (slices.Contains(ownFiles, rel) || strings.HasPrefix(rel, ".")) {
			continue
		}
		if err := add(rel, "", topKind(rel), ""); err != nil {
			return nil, err
		}
	}
	for _, ad := range t.Arches {
		known := map[string][2]string{} // rel -> kind, image
		for _, k := range ad.Kernels {
			for kind, rel := range map[artifact.Kind]string{artifact.KernelImage: k.Vmlinuz, artifact.Kernel: k.Vmlinux,
				artifact.KernelConfig: k.Config, artifact.SystemMap: k.SystemMap} {
				if rel != "" {
					known[rel] = [2]string{kindOfArtifact[kind], ""}
				}
			}
		}
		for _, im := range ad.Images {
			for kind, rel := range map[artifact.Kind]string{artifact.Initrd: im.Initrd, artifact.RootfsImage: im.Rootfs, artifact.VerityTree: im.Verity} {
				if rel != "" {
					known[rel] = [2]string{kindOfArtifact[kind], im.Name}
				}
			}
			known[dist.ImageSBOM(ad.Arch, im.Name)] = [2]string{kindOfArtifact[artifact.ImageSBOM], im.Name}
		}
		for _, rel := range ad.Files {
			kind, image := known[rel][0], known[rel][1]
			// A bundle or SBOM is never the artifact its name starts with
			// (vmlinuz-<kver>-<cfg>.sigstore.json signs a kernel, it is not one).
			if k := topKind(path.Base(rel)); kind == "" || k == "signature" || k == "sbom" {
				kind = k
			}
			if err := add(rel, ad.Arch.Name, kind, image); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// kindOfArtifact is the report's word for each artifact kind. Verity params
// and command lines have none: they are "other", or their step's kind.
var kindOfArtifact = map[artifact.Kind]string{
	artifact.KernelImage:  "vmlinuz",
	artifact.Kernel:       "vmlinux",
	artifact.KernelConfig: "config",
	artifact.SystemMap:    "system-map",
	artifact.Initrd:       "initrd",
	artifact.RootfsImage:  "rootfs",
	artifact.VerityTree:   "verity",
	artifact.RootHash:     "root-hash",
	artifact.ImageSBOM:    "sbom",
}

// guessKind names the kind of a file a step should have made but that is not
// on disk, so the layout cannot be asked; the step's kind is the fallback.
func guessKind(name, stepKind string) string {
	if kind, _, ok := artifact.KindOf(name); ok {
		if k, ok := kindOfArtifact[kind]; ok {
			return k
		}
	}
	if k := topKind(name); k != "other" {
		return k
	}
	return cmp.Or(stepKind, "other")
}

// topKind classifies the files the release stage adds, and root hashes.
func topKind(name string) string {
	switch {
	case name == dist.SumsFile:
		return "checksums"
	case name == dist.ProvenanceFile:
		return "provenance"
	case dist.IsBundle(name):
		return "signature"
	case dist.IsSBOM(name):
		return "sbom"
	case name == artifact.RootHashName:
		return "root-hash"
	}
	return "other"
}

// inheritFromSubjects gives a signature the target of the file it signs, so
// filtering by arch or image shows the bundle next to its artifact.
func inheritFromSubjects(arts []Artifact) {
	byPath := map[string]int{}
	for i, a := range arts {
		byPath[a.Path] = i
	}
	for i, a := range arts {
		if a.Kind != "signature" {
			continue
		}
		subject := strings.TrimSuffix(a.Path, dist.BundleSuffix)
		j, ok := byPath[subject]
		if !ok {
			continue
		}
		if arts[i].Arch == "" {
			arts[i].Arch = arts[j].Arch
		}
		if arts[i].Image == "" {
			arts[i].Image = arts[j].Image
		}
		if arts[i].Variant == "" {
			arts[i].Variant = arts[j].Variant
		}
	}
}

func digest(file string) (int64, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", fmt.Errorf("hash artifact: %w", err)
	}
	defer f.Close()
	sum, n, err := sha256sum.Reader(f)
	if err != nil {
		return 0, "", fmt.Errorf("hash artifact %s: %w", file, err)
	}
	return n, sum, nil
}
