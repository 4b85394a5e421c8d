// Package publish pushes a signed dist tree to an OCI registry with
// go-containerregistry, and pulls it back.
//
// The layout: one OCI 1.1 artifact manifest per architecture (empty config,
// artifactType application/vnd.guestforge.guest.v1) whose layers are the
// arch directory's files plus the release-wide files (SHA256SUMS,
// provenance, SBOM index and their bundles), each titled with its path in
// the tree; an image index over them with one platform per arch. Tags:
// <version> on the index, <version>-<arch> on each manifest. Every manifest
// and the index carry a cosign signature in the repository (the
// sha256-<hex>.sig tag), so `cosign verify --key cosign.pub REF` works.
//
// Ordering is the safety property: every blob, manifest, the index and all
// signatures are pushed by digest first; only then do tags move, per-arch
// tags before the version tag. A failure anywhere leaves the version tag
// where it was (absent for a new release).
//
// Each reference-values-<variant>.json is also attached to its arch
// manifest as an OCI 1.1 artifact (refvals.go), pushed and signed before
// any tag moves.
package publish

import (
	"path"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/refvals"
)

// Media and artifact types of the published layout.
const (
	ArtifactType = "application/vnd.guestforge.guest.v1"

	mediaEmpty      types.MediaType = "application/vnd.oci.empty.v1+json"
	mediaKernel     types.MediaType = "application/vnd.guestforge.kernel.v1"
	mediaKernelMeta types.MediaType = "application/vnd.guestforge.kernel.meta.v1"
	mediaInitrd     types.MediaType = "application/vnd.guestforge.initrd.v1"
	mediaRootfs     types.MediaType = "application/vnd.guestforge.rootfs.v1"
	mediaVerity     types.MediaType = "application/vnd.guestforge.rootfs.verity.v1"
	mediaFirmware   types.MediaType = "application/vnd.guestforge.firmware.v1"
	// mediaReferenceValues is the schema's own media type.
	mediaReferenceValues types.MediaType = refvals.MediaType
	mediaBundle          types.MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	mediaSPDX            types.MediaType = "application/spdx+json"
	mediaInToto          types.MediaType = "application/vnd.in-toto+jsonl"
	mediaText            types.MediaType = "text/plain"
	mediaOctets          types.MediaType = "application/octet-stream"
)

// Annotation keys. The org.opencontainers ones are the standard keys; the
// dev.guestforge ones say what only we know.
const (
	AnnotationTitle    = "org.opencontainers.image.title"
	AnnotationVersion  = "org.opencontainers.image.version"
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationCreated  = "org.opencontainers.image.created"
	AnnotationArch     = "dev.guestforge.arch"
	AnnotationKernel   = "dev.guestforge.kernel.version"
	AnnotationConfigID = "dev.guestforge.kernel.config-id"
)

// mediaOfKind is the media type of each artifact kind a layer carries. Verity
// params, command lines and root hash lists are plain octets.
var mediaOfKind = map[artifact.Kind]types.MediaType{
	artifact.KernelImage:     mediaKernel,
	artifact.Kernel:          mediaKernel,
	artifact.KernelConfig:    mediaKernelMeta,
	artifact.SystemMap:       mediaKernelMeta,
	artifact.Initrd:          mediaInitrd,
	artifact.RootfsImage:     mediaRootfs,
	artifact.VerityTree:      mediaVerity,
	artifact.Firmware:        mediaFirmware,
	artifact.ReferenceValues: mediaReferenceValues,
}

// mediaTypeOf says what a file is by where it sits in the layout.
func mediaTypeOf(rel string) types.MediaType {
	switch {
	case dist.IsBundle(rel):
		return mediaBundle
	case dist.IsSBOM(rel):
		return mediaSPDX
	case rel == dist.ProvenanceFile:
		return mediaInToto
	case rel == dist.SumsFile:
		return mediaText
	}
	if kind, _, ok := artifact.KindOf(path.Base(rel)); ok {
		if mt, ok := mediaOfKind[kind]; ok {
			return mt
		}
	}
	return mediaOctets
}
