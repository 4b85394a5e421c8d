package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Options are the facts about a release that are not in the dist tree.
type Options struct {
	// Created is SOURCE_DATE_EPOCH.
	Created time.Time
	// Agents maps an image name to what its definition says about the agent.
	Agents map[string]Agent
	// KernelSource is the pinned kernel source URL (toolchain.yaml).
	KernelSource string
	// Locks maps an image name to its package lock: the image's packages must be
	// exactly the lock's, and each names the .deb it was installed from. An image
	// without one is described from its dpkg status alone.
	Locks map[string]*pkglock.Lock
}

// Write generates the SBOM of every image of every arch in the tree, reading
// packages and the agent from the image's initrd, then the release index.
// It returns the tree-relative paths written.
func Write(t *dist.Tree, o Options) ([]string, error) {
	if o.Created.IsZero() {
		return nil, fmt.Errorf("sbom: the creation time (SOURCE_DATE_EPOCH) is required")
	}
	var written []string
	var refs []DocRef
	for _, ad := range t.Arches {
		kernels, err := kernelsOf(t, ad)
		if err != nil {
			return nil, err
		}
		firmware, err := named(t, ad.Firmware)
		if err != nil {
			return nil, err
		}
		refValues, err := named(t, ad.ReferenceValues)
		if err != nil {
			return nil, err
		}
		for _, im := range ad.Images {
			if im.Initrd == "" {
				return nil, fmt.Errorf("%s: image %s has no %s to read its package list from", path.Join(t.Root, ad.Arch.Name), im.Name, artifact.InitrdName(im.Name))
			}
			c, err := ScanInitrd(t.Path(im.Initrd))
			if err != nil {
				return nil, err
			}
			statusName := im.Initrd + ":/" + statusPath
			pkgs, err := ParseStatus(bytes.NewReader(c.Status), statusName)
			if err != nil {
				return nil, err
			}
			mirror := "" // where the locked .debs are; none without a lock
			if lock, locked := o.Locks[im.Name]; locked {
				if pkgs, err = fromLock(pkgs, lock, ad.Arch.DebianArch, statusName); err != nil {
					return nil, err
				}
				mirror = lock.Mirror
			}
			var files []Artifact
			for _, f := range []struct{ kind, rel string }{{"initrd", im.Initrd}, {"rootfs", im.Rootfs}, {"verity", im.Verity}} {
				if f.rel == "" {
					continue
				}
				sum, err := sums.File(t.Path(f.rel))
				if err != nil {
					return nil, err
				}
				files = append(files, Artifact{Kind: f.kind, File: path.Base(f.rel), SHA256: sum})
			}
			agent := o.Agents[im.Name]
			agent.File = *c.Agent
			doc, err := ImageDocument(ImageInput{
				Version: t.Version, Arch: ad.Arch, Image: im.Name, Created: o.Created,
				Packages: pkgs, Mirror: mirror, Agent: agent, Kernels: kernelsWithSource(kernels, o.KernelSource), Files: files,
				Firmware: firmware, ReferenceValues: refValues,
			})
			if err != nil {
				return nil, err
			}
			body, err := Marshal(doc)
			if err != nil {
				return nil, err
			}
			rel := dist.ImageSBOM(ad.Arch, im.Name)
			if err := dist.WriteFile(t.Path(rel), body); err != nil {
				return nil, err
			}
			written = append(written, rel)
			refs = append(refs, DocRef{Path: rel, Namespace: doc.DocumentNamespace, SHA256: sha256Hex(body)})
		}
	}
	idx, err := IndexDocument(t.Version, o.Created, refs)
	if err != nil {
		return nil, err
	}
	body, err := Marshal(idx)
	if err != nil {
		return nil, err
	}
	if err := dist.WriteFile(t.Path(dist.SBOMIndexFile), body); err != nil {
		return nil, err
	}
	return append(written, dist.SBOMIndexFile), nil
}

func kernelsOf(t *dist.Tree, ad dist.ArchDir) ([]Kernel, error) {
	var out []Kernel
	for _, k := range ad.Kernels {
		boot := k.BootImage()
		if boot == "" {
			continue
		}
		sum, err := sums.File(t.Path(boot))
		if err != nil {
			return nil, err
		}
		out = append(out, Kernel{Version: k.Version, ConfigID: k.ConfigID, File: path.Base(boot), SHA256: sum})
	}
	return out, nil
}

// named describes an arch directory's firmware or reference-values files:
// Kind is the word that names each (the platform, the variant).
func named(t *dist.Tree, files []dist.Named) ([]Artifact, error) {
	var out []Artifact
	for _, f := range files {
		sum, err := sums.File(t.Path(f.Path))
		if err != nil {
			return nil, err
		}
		out = append(out, Artifact{Kind: f.Name, File: path.Base(f.Path), SHA256: sum})
	}
	return out, nil
}

func kernelsWithSource(ks []Kernel, src string) []Kernel {
	out := append([]Kernel(nil), ks...)
	for i := range out {
		out[i].Source = src
	}
	return out
}

// MaxDocumentBytes bounds an SBOM: an image's document lists a few hundred
// packages, a few hundred KiB.
const MaxDocumentBytes = 64 * boundedio.MiB

// Read parses an SPDX document written by this package.
func Read(file string) (*Document, []byte, error) {
	body, err := boundedio.ReadFileLimit(file, MaxDocumentBytes, "an SBOM")
	if err != nil {
		return nil, nil, fmt.Errorf("read SBOM: %w", err)
	}
	doc, err := Parse(file, body)
	if err != nil {
		return nil, nil, err
	}
	return doc, body, nil
}

// Parse decodes an SPDX document held in memory; file names it in errors.
func Parse(file string, body []byte) (*Document, error) {
	var doc Document
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not an SPDX JSON document: %w", file, err)
	}
	if doc.SPDXVersion != spdxVersion {
		return nil, fmt.Errorf("%s: spdxVersion %q, want %s", file, doc.SPDXVersion, spdxVersion)
	}
	return &doc, nil
}
