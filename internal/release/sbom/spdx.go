// Package sbom writes SPDX 2.3 JSON documents for guest images: one per
// image and architecture (the Debian packages installed in it with purls,
// the agent, the kernels shipped next to it with their config id, and the
// image files with their digests), plus an index document for the release
// that points at each of them by namespace and checksum.
//
// Documents are deterministic: created is the build epoch, element IDs and
// the document namespace are derived from content, and every list is sorted,
// so the same dist tree always yields the same bytes.
package sbom

// The subset of the SPDX 2.3 JSON schema we write. Field order follows the
// schema so documents read naturally.

// Document is an SPDX 2.3 document.
type Document struct {
	SPDXVersion          string                `json:"spdxVersion"`
	DataLicense          string                `json:"dataLicense"`
	SPDXID               string                `json:"SPDXID"`
	Name                 string                `json:"name"`
	DocumentNamespace    string                `json:"documentNamespace"`
	CreationInfo         CreationInfo          `json:"creationInfo"`
	ExternalDocumentRefs []ExternalDocumentRef `json:"externalDocumentRefs,omitempty"`
	Packages             []Package             `json:"packages,omitempty"`
	Relationships        []Relationship        `json:"relationships,omitempty"`
}

// CreationInfo says when and by what the document was made.
type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
	Comment  string   `json:"comment,omitempty"`
}

// Package is an SPDX package.
type Package struct {
	SPDXID                string        `json:"SPDXID"`
	Name                  string        `json:"name"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	PackageFileName       string        `json:"packageFileName,omitempty"`
	Supplier              string        `json:"supplier,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	Checksums             []Checksum    `json:"checksums,omitempty"`
	Homepage              string        `json:"homepage,omitempty"`
	SourceInfo            string        `json:"sourceInfo,omitempty"`
	LicenseConcluded      string        `json:"licenseConcluded"`
	LicenseDeclared       string        `json:"licenseDeclared"`
	CopyrightText         string        `json:"copyrightText"`
	Comment               string        `json:"comment,omitempty"`
	ExternalRefs          []ExternalRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
}

// Checksum is an algorithm and a lowercase hex value.
type Checksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

// ExternalRef is a package identifier such as a purl.
type ExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// ExternalDocumentRef points at another SPDX document by namespace and
// checksum.
type ExternalDocumentRef struct {
	ExternalDocumentID string   `json:"externalDocumentId"`
	SPDXDocument       string   `json:"spdxDocument"`
	Checksum           Checksum `json:"checksum"`
}

// Relationship links two elements.
type Relationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

const (
	spdxVersion  = "SPDX-2.3"
	dataLicense  = "CC0-1.0"
	documentID   = "SPDXRef-DOCUMENT"
	noAssertion  = "NOASSERTION"
	sha256Algo   = "SHA256"
	creatorTool  = "Tool: guestforge-release"
	creatorOrg   = "Organization: guestforge"
	namespaceURI = "https://github.com/guestforge/guestforge/spdx/"
)
