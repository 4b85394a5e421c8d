package sbom

import (
	"fmt"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
)

// DocRef is an image document the index points at.
type DocRef struct {
	Path      string // tree-relative path of the document
	Namespace string // its documentNamespace
	SHA256    string // digest of its bytes
}

// IndexDocument is the release-wide dist/<version>/sbom.spdx.json: it
// describes the release and refers to every image document by namespace and
// checksum, so one file anchors all SBOMs of the release.
func IndexDocument(version string, created time.Time, refs []DocRef) (*Document, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("sbom: release %s has no image documents to index", version)
	}
	doc := newDocument("guestforge-"+version, created)
	rel := withNoAssertions(Package{
		SPDXID:                releasePackageID,
		Name:                  "guestforge",
		VersionInfo:           version,
		DownloadLocation:      noAssertion,
		Comment:               "guest kernels, initrds and rootfs images of release " + version,
		PrimaryPackagePurpose: "OPERATING-SYSTEM",
	})
	doc.Packages = []Package{rel}
	doc.Relationships = []Relationship{{documentID, "DESCRIBES", rel.SPDXID}}
	seen := map[string]string{}
	for _, r := range refs {
		id := docRefID(r.Path)
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("sbom: %s and %s map to the same reference %s", prev, r.Path, id)
		}
		seen[id] = r.Path
		doc.ExternalDocumentRefs = append(doc.ExternalDocumentRefs, ExternalDocumentRef{
			ExternalDocumentID: id,
			SPDXDocument:       r.Namespace,
			Checksum:           Checksum{Algorithm: "SHA256", ChecksumValue: r.SHA256},
		})
		doc.Relationships = append(doc.Relationships, Relationship{rel.SPDXID, "CONTAINS", id + ":" + documentID})
	}
	return finish(doc, version+"/release")
}

// docRefID names an image document in the index: "x86_64/sbom-default.spdx.json"
// becomes DocumentRef-x86-64-sbom-default (SPDX IDs allow no underscore).
func docRefID(rel string) string {
	s := strings.TrimSuffix(rel, artifact.SBOMSuffix)
	var b strings.Builder
	b.WriteString("DocumentRef-")
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// releasePackageID is the index document's package for the release itself;
// its versionInfo is the release version.
const releasePackageID = "SPDXRef-release"
