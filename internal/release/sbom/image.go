package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
)

// ImageInput is everything one image's SBOM states.
type ImageInput struct {
	Version string // release version
	Arch    arch.Arch
	Image   string
	// Created is SOURCE_DATE_EPOCH, never the wall clock.
	Created  time.Time
	Packages []DebPackage
	// Mirror is the archive the packages' locked .debs are under (Deb.Filename).
	Mirror  string
	Agent   Agent
	Kernels []Kernel
	// Files are the image's files in the arch directory (initrd, rootfs,
	// verity hash tree): the packages that CONTAIN the Debian packages.
	Files []Artifact
	// Firmware are the arch's firmware builds (ovmf-<platform>.fd) and
	// ReferenceValues its reference-values-<variant>.json files: a
	// confidential guest boots the one and is attested with the other.
	Firmware, ReferenceValues []Artifact
}

// Agent is the agent binary inside the image.
type Agent struct {
	File File
	// Name, Version and DownloadLocation come from the image definition when
	// known (images/<name>.yaml); Name defaults to the binary's base name.
	Name, Version, DownloadLocation string
}

// Kernel is a kernel shipped next to the image.
type Kernel struct {
	Version, ConfigID string
	// File is the boot image's base name and SHA256 its digest.
	File, SHA256 string
	// Source is the pinned kernel source URL from toolchain.yaml, if known.
	Source string
}

// Artifact is one released file of the image.
type Artifact struct {
	Kind   string // initrd | rootfs | verity
	File   string // base name in the arch directory
	SHA256 string
}

// ImageDocument builds the SPDX document of one image.
func ImageDocument(in ImageInput) (*Document, error) {
	if in.Version == "" || in.Image == "" || in.Arch.Name == "" {
		return nil, errors.New("sbom: version, arch and image are required")
	}
	if len(in.Files) == 0 {
		return nil, fmt.Errorf("sbom: image %s/%s has no files to describe", in.Arch.Name, in.Image)
	}
	if in.Agent.File.SHA256 == "" {
		return nil, fmt.Errorf("sbom: image %s/%s: the agent's digest is unknown", in.Arch.Name, in.Image)
	}
	doc := newDocument(fmt.Sprintf("guestforge-%s-%s-%s", in.Version, in.Arch.Name, in.Image), in.Created)

	var contained []string
	for _, p := range in.Packages {
		id := elementID("deb", p.Name+"_"+p.Architecture, p.Name+"\x00"+p.Architecture)
		pkg := Package{
			SPDXID:           id,
			Name:             p.Name,
			VersionInfo:      p.Version,
			Supplier:         "Organization: Debian",
			DownloadLocation: noAssertion,
			Homepage:         p.Homepage,
			SourceInfo:       fmt.Sprintf("built package from: %s %s", p.SourceName(), p.SourceVersion()),
			ExternalRefs: []ExternalRef{{
				ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: p.PURL(),
			}},
		}
		if p.Deb.SHA256 != "" {
			// The .deb the image was installed from, as its lock pins it.
			pkg.DownloadLocation = debLocation(in.Mirror, p.Deb)
			pkg.PackageFileName = debFileName(p.Deb)
			pkg.Checksums = []Checksum{{Algorithm: sha256Algo, ChecksumValue: p.Deb.SHA256}}
		}
		doc.Packages = append(doc.Packages, withNoAssertions(pkg))
		contained = append(contained, id)
	}

	agentName := in.Agent.Name
	if agentName == "" {
		agentName = path.Base(in.Agent.File.Path)
	}
	agentID := elementID("agent", agentName, in.Agent.File.SHA256)
	dl := in.Agent.DownloadLocation
	if dl == "" {
		dl = noAssertion
	}
	doc.Packages = append(doc.Packages, withNoAssertions(Package{
		SPDXID:                agentID,
		Name:                  agentName,
		VersionInfo:           in.Agent.Version,
		PackageFileName:       in.Agent.File.Path,
		DownloadLocation:      dl,
		Checksums:             []Checksum{{Algorithm: sha256Algo, ChecksumValue: in.Agent.File.SHA256}},
		Comment:               "the guest agent: " + in.Agent.File.Path + " in the image",
		PrimaryPackagePurpose: "APPLICATION",
	}))
	contained = append(contained, agentID)

	var described []string
	for _, f := range in.Files {
		id := elementID("image", in.Image+"-"+f.Kind, f.File)
		doc.Packages = append(doc.Packages, withNoAssertions(Package{
			SPDXID:                id,
			Name:                  "guestforge-" + in.Image + "-" + f.Kind,
			VersionInfo:           in.Version,
			PackageFileName:       f.File,
			DownloadLocation:      noAssertion,
			Checksums:             []Checksum{{Algorithm: sha256Algo, ChecksumValue: f.SHA256}},
			Comment:               fmt.Sprintf("guest image %s (%s) for %s", in.Image, f.Kind, in.Arch.Name),
			PrimaryPackagePurpose: "OPERATING-SYSTEM",
		}))
		described = append(described, id)
		for _, c := range contained {
			doc.Relationships = append(doc.Relationships, Relationship{id, "CONTAINS", c})
		}
	}
	for _, k := range in.Kernels {
		id := elementID("kernel", k.Version+"-"+k.ConfigID, k.File)
		src := k.Source
		if src == "" {
			src = noAssertion
		}
		doc.Packages = append(doc.Packages, withNoAssertions(Package{
			SPDXID:           id,
			Name:             "linux",
			VersionInfo:      k.Version,
			PackageFileName:  k.File,
			DownloadLocation: src,
			Checksums:        []Checksum{{Algorithm: sha256Algo, ChecksumValue: k.SHA256}},
			Comment: fmt.Sprintf("guest kernel %s, config id %s (content hash of the merged config fragments)",
				k.Version, k.ConfigID),
			ExternalRefs: []ExternalRef{{
				ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl",
				ReferenceLocator: "pkg:generic/linux@" + purlEscape(k.Version) + "?config_id=" + purlEscape(k.ConfigID) +
					"&arch=" + purlEscape(in.Arch.Name),
			}},
			PrimaryPackagePurpose: "OPERATING-SYSTEM",
		}))
		described = append(described, id)
	}
	// The reference values are computed from the image's files, the kernels
	// and the firmware: everything described so far and the firmware below.
	sources := slices.Clone(described)
	for _, f := range in.Firmware {
		id := elementID("firmware", f.Kind, f.File)
		doc.Packages = append(doc.Packages, withNoAssertions(Package{
			SPDXID:                id,
			Name:                  "edk2-ovmf-" + f.Kind,
			PackageFileName:       f.File,
			DownloadLocation:      noAssertion,
			Checksums:             []Checksum{{Algorithm: sha256Algo, ChecksumValue: f.SHA256}},
			Comment:               fmt.Sprintf("edk2 OVMF (%s platform) a confidential guest on %s boots", f.Kind, in.Arch.Name),
			PrimaryPackagePurpose: "FIRMWARE",
		}))
		described = append(described, id)
		sources = append(sources, id)
	}
	for _, f := range in.ReferenceValues {
		id := elementID("refvals", f.Kind, f.File)
		doc.Packages = append(doc.Packages, withNoAssertions(Package{
			SPDXID:           id,
			Name:             "guestforge-reference-values-" + f.Kind,
			VersionInfo:      in.Version,
			PackageFileName:  f.File,
			DownloadLocation: noAssertion,
			Checksums:        []Checksum{{Algorithm: sha256Algo, ChecksumValue: f.SHA256}},
			Comment: fmt.Sprintf("launch measurements of the %s/%s confidential target (docs/reference-values.md)",
				in.Arch.Name, f.Kind),
			PrimaryPackagePurpose: "FILE",
		}))
		described = append(described, id)
		for _, from := range sources {
			doc.Relationships = append(doc.Relationships, Relationship{id, "GENERATED_FROM", from})
		}
	}
	for _, d := range described {
		doc.Relationships = append(doc.Relationships, Relationship{documentID, "DESCRIBES", d})
	}
	return finish(doc, in.Version+"/"+in.Arch.Name+"/"+in.Image)
}

func newDocument(name string, created time.Time) *Document {
	return &Document{
		SPDXVersion: spdxVersion,
		DataLicense: dataLicense,
		SPDXID:      documentID,
		Name:        name,
		CreationInfo: CreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{creatorOrg, creatorTool},
		},
	}
}

// finish sorts everything, checks element IDs are unique and sets the
// namespace from a hash of the rest of the document.
func finish(doc *Document, scope string) (*Document, error) {
	sort.Slice(doc.Packages, func(i, j int) bool { return doc.Packages[i].SPDXID < doc.Packages[j].SPDXID })
	for i := 1; i < len(doc.Packages); i++ {
		if doc.Packages[i].SPDXID == doc.Packages[i-1].SPDXID {
			return nil, fmt.Errorf("sbom: element %s appears twice (%s)", doc.Packages[i].SPDXID, doc.Packages[i].Name)
		}
	}
	sort.Slice(doc.Relationships, func(i, j int) bool {
		a, b := doc.Relationships[i], doc.Relationships[j]
		if a.SPDXElementID != b.SPDXElementID {
			return a.SPDXElementID < b.SPDXElementID
		}
		if a.RelationshipType != b.RelationshipType {
			return a.RelationshipType < b.RelationshipType
		}
		return a.RelatedSPDXElement < b.RelatedSPDXElement
	})
	sort.Slice(doc.ExternalDocumentRefs, func(i, j int) bool {
		return doc.ExternalDocumentRefs[i].ExternalDocumentID < doc.ExternalDocumentRefs[j].ExternalDocumentID
	})
	doc.DocumentNamespace = ""
	body, err := Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	doc.DocumentNamespace = namespaceURI + scope + "-" + hex.EncodeToString(sum[:16])
	return doc, nil
}

// Marshal renders a document as indented JSON with a final newline. HTML
// escaping is off so maintainer addresses read as written.
func Marshal(doc *Document) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("sbom: encode: %w", err)
	}
	return b.Bytes(), nil
}

func withNoAssertions(p Package) Package {
	p.LicenseConcluded = noAssertion
	p.LicenseDeclared = noAssertion
	p.CopyrightText = noAssertion
	return p
}

// elementID makes an SPDX element ID from a readable part, restricted to the
// characters SPDX allows ([A-Za-z0-9.-]), plus a short hash of the exact key
// so that names differing only in disallowed characters (libstdc++6 vs
// libstdc--6) never collide.
func elementID(kind, readable, key string) string {
	var b strings.Builder
	for _, r := range readable {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	return "SPDXRef-" + kind + "-" + b.String() + "-" + hex.EncodeToString(sum[:4])
}
