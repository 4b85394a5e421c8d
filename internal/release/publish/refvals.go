package publish

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/refvals"
)

// Reference values are published twice over, so a relying party finds them
// whichever way it looks: as a layer of the arch manifest like every file
// (annotated with its target, and listed in the manifest's
// AnnotationReferenceValues), and attached to that manifest as an OCI 1.1
// artifact of their own (artifactType refvals.MediaType, subject the arch
// manifest), which `oras discover` and the referrers API list.
const (
	// AnnotationReferenceValues on an arch manifest lists its reference
	// values as <arch>/<variant>=sha256:<hex>, comma-separated.
	AnnotationReferenceValues = "dev.guestforge.reference-values"
	// AnnotationTarget on a reference-values layer and on its attached
	// artifact names the target, <arch>/<variant>.
	AnnotationTarget = "dev.guestforge.target"
)

// targetOf is the target a reference-values file of the arch directory is
// of, when rel is one.
func targetOf(rel string) (string, bool) {
	kind, parts, ok := artifact.KindOf(path.Base(rel))
	if !ok || kind != artifact.ReferenceValues {
		return "", false
	}
	return path.Dir(rel) + "/" + parts.Variant, true
}

// plannedReferrer is the attached artifact of one reference-values layer.
type plannedReferrer struct {
	target string
	body   []byte
	digest v1.Hash
}

// referrer is the manifest that attaches layer, a reference-values file, to
// subject, its arch manifest. Everything in it is derived from the two, so
// a pull rebuilds it byte for byte and fetches it by digest: no referrers
// API, no fallback tag, and nothing a registry could answer differently.
func referrer(subject, layer, config v1.Descriptor, version, archName string) (plannedReferrer, error) {
	target := layer.Annotations[AnnotationTarget]
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  refvals.MediaType,
		Config:        config,
		Layers:        []v1.Descriptor{layer},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest},
		Annotations: map[string]string{AnnotationVersion: version, AnnotationArch: archName, AnnotationTarget: target,
			AnnotationTitle: layer.Annotations[AnnotationTitle]},
	}
	body, err := json.Marshal(m)
	if err != nil {
		return plannedReferrer{}, fmt.Errorf("publish: encode the reference values of %s: %w", target, err)
	}
	h, _, err := v1.SHA256(strings.NewReader(string(body)))
	return plannedReferrer{target: target, body: body, digest: h}, err
}

// referrersOf plans the attached artifact of every reference-values layer of
// the arch manifest m, whose own descriptor is subject.
func referrersOf(m v1.Manifest, subject v1.Descriptor) ([]plannedReferrer, error) {
	var out []plannedReferrer
	for _, l := range m.Layers {
		if l.MediaType != mediaReferenceValues {
			continue
		}
		if l.Annotations[AnnotationTarget] == "" {
			return nil, fmt.Errorf("layer %s (%s) holds reference values but names no target (%s)", l.Digest, l.Annotations[AnnotationTitle], AnnotationTarget)
		}
		r, err := referrer(subject, l, m.Config, m.Annotations[AnnotationVersion], m.Annotations[AnnotationArch])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
