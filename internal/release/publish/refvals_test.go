package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/refvals"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/release/verify"
)

const rvFile = "x86_64/reference-values-confidential.json"

// A confidential target's reference values are a layer of the x86_64
// manifest, named in its annotations, and an OCI 1.1 artifact attached to
// it (found by the referrers API), signed; the pull checks the attachment
// and verify the values.
func TestReferenceValuesPublishedAndAttached(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	root := disttest.Build(t, t.TempDir())
	releasetest.Confidential(t, root)
	tr := releasetest.AttestAndSign(t, root, k)
	r := repo(t, reg.Host)
	res, err := publish.Publish(ctx, tr, r, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 1 {
		t.Fatalf("attached %v, want the one reference-values file", res.Referrers)
	}
	sum, err := sums.File(tr.Path(rvFile))
	if err != nil {
		t.Fatal(err)
	}
	x86 := res.Manifests[0]
	img, err := remote.Image(x86.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if got, want := m.Annotations[publish.AnnotationReferenceValues], "x86_64/confidential=sha256:"+sum; got != want {
		t.Errorf("x86_64 manifest annotation %s = %q, want %q", publish.AnnotationReferenceValues, got, want)
	}
	var layer v1.Descriptor
	for _, l := range m.Layers {
		if l.Annotations[publish.AnnotationTitle] == rvFile {
			layer = l
		}
		if l.Annotations[publish.AnnotationTitle] == "x86_64/ovmf-amdsev.fd" && l.MediaType != "application/vnd.guestforge.firmware.v1" {
			t.Errorf("firmware layer media type %s", l.MediaType)
		}
	}
	if layer.MediaType != refvals.MediaType || layer.Annotations[publish.AnnotationTarget] != "x86_64/confidential" || layer.Digest.Hex != sum {
		t.Errorf("reference-values layer %+v", layer)
	}
	arm, _ := remote.Image(res.Manifests[1].Digest)
	if am, _ := arm.Manifest(); am.Annotations[publish.AnnotationReferenceValues] != "" {
		t.Errorf("the aarch64 manifest names reference values: %v", am.Annotations)
	}

	// What `oras discover` lists: the artifact, by type, with the same layer.
	idx, err := remote.Referrers(x86.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != refvals.MediaType || im.Manifests[0].Digest.String() != res.Referrers[0].DigestStr() {
		t.Fatalf("referrers of the x86_64 manifest: %+v, want %s", im.Manifests, res.Referrers[0])
	}
	att, err := remote.Image(res.Referrers[0])
	if err != nil {
		t.Fatal(err)
	}
	am, _ := att.Manifest()
	if am.Subject == nil || am.Subject.Digest.String() != x86.Digest.DigestStr() || len(am.Layers) != 1 || am.Layers[0].Digest != layer.Digest ||
		am.Annotations[publish.AnnotationTarget] != "x86_64/confidential" || am.Annotations[publish.AnnotationVersion] != disttest.Version {
		t.Errorf("attached artifact %+v", am)
	}

	rep, err := verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true, Publish: publish.Options{Backoff: fast}})
	if err != nil {
		t.Fatal(err)
	}
	items := strings.Join(rep.Items, "\n")
	for _, want := range []string{"registry signature " + res.Referrers[0].String(), "reference values " + rvFile} {
		if !strings.Contains(items, want) {
			t.Errorf("verify did not check %q:\n%s", want, items)
		}
	}

	// The same layers under a manifest nothing is attached to: the pull
	// refuses it, naming the target.
	raw, _ := img.RawManifest()
	var edited map[string]any
	if err := json.Unmarshal(raw, &edited); err != nil {
		t.Fatal(err)
	}
	edited["annotations"].(map[string]any)["dev.guestforge.note"] = "copied"
	body, _ := json.Marshal(edited)
	h, _, _ := v1.SHA256(strings.NewReader(string(body)))
	bare := r.Digest(h.String())
	if err := remote.Put(bare, rawManifest{body, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
	_, err = publish.Pull(ctx, bare, t.TempDir(), publish.Options{Backoff: fast})
	if err == nil || !strings.Contains(err.Error(), "the reference values of x86_64/confidential are not attached") {
		t.Fatalf("a manifest without the attached artifact: %v", err)
	}
	var f *verify.Failure
	_, err = verify.Ref(ctx, bare, t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true, Publish: publish.Options{Backoff: fast}})
	if !errors.As(err, &f) || f.Step != "registry" {
		t.Errorf("verify of that manifest: %v", err)
	}
}

type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
