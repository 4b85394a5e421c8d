package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Check verifies that the SBOMs describe the files actually in the tree:
// every image has its document, every file a document names by
// packageFileName exists with the stated digest, every image file and
// kernel is described, and the index refers to exactly the image documents
// present, by their namespaces and digests. The error names the first
// document and item that disagree.
func Check(t *dist.Tree) error {
	type imageDoc struct{ namespace, sum string }
	docs := map[string]imageDoc{}
	for _, ad := range t.Arches {
		var shipped []string
		for _, k := range ad.Kernels {
			if b := k.BootImage(); b != "" {
				shipped = append(shipped, path.Base(b))
			}
		}
		// Every image document describes the arch's firmware and reference
		// values too: they are what its confidential launches boot and are
		// attested against.
		for _, f := range append(slices.Clone(ad.Firmware), ad.ReferenceValues...) {
			shipped = append(shipped, path.Base(f.Path))
		}
		for _, im := range ad.Images {
			rel := dist.ImageSBOM(ad.Arch, im.Name)
			if !t.Has(rel) {
				return fmt.Errorf("%s: missing: image %s has no SBOM (run `release attest`)", rel, im.Name)
			}
			doc, body, err := Read(t.Path(rel))
			if err != nil {
				return err
			}
			described := map[string]bool{}
			for _, p := range doc.Packages {
				if p.PackageFileName == "" || strings.HasPrefix(p.PackageFileName, "/") {
					continue // Debian packages have no file; the agent's is inside the image
				}
				file := path.Join(ad.Arch.Name, p.PackageFileName)
				if err := dist.CheckRel(file); err != nil {
					return fmt.Errorf("%s: package %s: %w", rel, p.Name, err)
				}
				want := checksum(p.Checksums)
				if want == "" {
					return fmt.Errorf("%s: package %s (%s) has no SHA256 checksum", rel, p.Name, p.PackageFileName)
				}
				if !t.Has(file) {
					return fmt.Errorf("%s: package %s names %s, which is not in the tree", rel, p.Name, file)
				}
				got, err := sums.File(t.Path(file))
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("%s: package %s: %s has sha256 %s, the SBOM says %s", rel, p.Name, file, got, want)
				}
				described[p.PackageFileName] = true
			}
			for _, f := range append([]string{im.Initrd, im.Rootfs, im.Verity}, shipped...) {
				if f != "" && !described[path.Base(f)] {
					return fmt.Errorf("%s: %s is not described (the SBOM predates the file: re-run `release attest`)", rel, path.Base(f))
				}
			}
			docs[rel] = imageDoc{namespace: doc.DocumentNamespace, sum: sha256Hex(body)}
		}
	}
	for _, rel := range t.SBOMs() {
		if _, ok := docs[rel]; !ok && rel != dist.SBOMIndexFile {
			return fmt.Errorf("%s: SBOM of an image that is not in the tree", rel)
		}
	}
	if !t.Has(dist.SBOMIndexFile) {
		return fmt.Errorf("%s: missing (run `release attest`)", dist.SBOMIndexFile)
	}
	idx, _, err := Read(t.Path(dist.SBOMIndexFile))
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for rel := range docs {
		byID[docRefID(rel)] = rel
	}
	referenced := map[string]bool{}
	for _, ref := range idx.ExternalDocumentRefs {
		rel, ok := byID[ref.ExternalDocumentID]
		if !ok && t.Partial && ofAbsentArch(t, ref.ExternalDocumentID) {
			continue // the document of an arch this tree does not hold
		}
		if !ok {
			return fmt.Errorf("%s: %s refers to a document that is not in the tree", dist.SBOMIndexFile, ref.ExternalDocumentID)
		}
		d := docs[rel]
		if ref.SPDXDocument != d.namespace {
			return fmt.Errorf("%s: %s: namespace %s, but %s has %s", dist.SBOMIndexFile, ref.ExternalDocumentID, ref.SPDXDocument, rel, d.namespace)
		}
		if ref.Checksum.Algorithm != sha256Algo || ref.Checksum.ChecksumValue != d.sum {
			return fmt.Errorf("%s: %s: checksum %s:%s, but %s has sha256 %s", dist.SBOMIndexFile, ref.ExternalDocumentID,
				ref.Checksum.Algorithm, ref.Checksum.ChecksumValue, rel, d.sum)
		}
		referenced[rel] = true
	}
	for _, rel := range t.SBOMs() {
		if _, image := docs[rel]; image && !referenced[rel] {
			return fmt.Errorf("%s: does not refer to %s", dist.SBOMIndexFile, rel)
		}
	}
	return nil
}

func checksum(cs []Checksum) string {
	for _, c := range cs {
		if c.Algorithm == sha256Algo {
			return c.ChecksumValue
		}
	}
	return ""
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ofAbsentArch reports whether an index reference names a document of an
// arch the tree does not hold.
func ofAbsentArch(t *dist.Tree, id string) bool {
	for _, a := range arch.All() {
		if _, present := t.Arch(a); !present && strings.HasPrefix(id, docRefID(a.Name+"/")) {
			return true
		}
	}
	return false
}

// ReleaseVersion is the release version the index document in file records:
// the versionInfo of its release package, which IndexDocument also writes
// into the document's name.
func ReleaseVersion(file string) (string, error) {
	doc, _, err := Read(file)
	if err != nil {
		return "", err
	}
	for _, p := range doc.Packages {
		if p.SPDXID != releasePackageID {
			continue
		}
		if p.VersionInfo == "" {
			return "", fmt.Errorf("%s: the release package %s has no versionInfo: re-run `release attest`", file, releasePackageID)
		}
		if want := "guestforge-" + p.VersionInfo; doc.Name != want {
			return "", fmt.Errorf("%s: document name %q does not match the release package version %s (want %q)", file, doc.Name, p.VersionInfo, want)
		}
		return p.VersionInfo, nil
	}
	return "", fmt.Errorf("%s: no release package %s: not a release SBOM index", file, releasePackageID)
}
