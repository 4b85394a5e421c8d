package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Options tune a publish.
type Options struct {
	// Signer signs the index and every manifest in the registry. Required:
	// nothing is published unsigned.
	Signer sign.ImageSigner
	// Remote are extra go-containerregistry options (auth, transport).
	Remote []remote.Option
	// Backoff is the retry schedule for every registry request; zero means
	// 5 tries, 1s doubling.
	Backoff remote.Backoff
	// Commit and Source override what the provenance says.
	Commit, Source string
	// Created is the build epoch written as org.opencontainers.image.created;
	// zero leaves it out.
	Created time.Time
	Log     *slog.Logger
}

// Result says what was published.
type Result struct {
	Index     name.Digest
	Manifests []ArchManifest
	// Referrers are the attached reference-values artifacts, in arch order.
	Referrers []name.Digest
	Tags      []name.Tag
}

// ArchManifest is one architecture's manifest.
type ArchManifest struct {
	Arch   arch.Arch
	Digest name.Digest
}

// defaultBackoff retries 5 times over ~15 s: enough for a registry restart
// or a rate limit, short enough that a dead registry fails a release fast.
var defaultBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}

// retryCodes are the statuses worth retrying: timeouts, rate limits and
// server-side failures. A 4xx such as DIGEST_INVALID (a truncated upload)
// is final: retrying the same bytes cannot fix it.
var retryCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// TagMovedError reports a tag that already names different content.
type TagMovedError struct {
	Tag        name.Tag
	Have, Want v1.Hash
}

func (e *TagMovedError) Error() string {
	return fmt.Sprintf("tag %s already points to %s (this release would be %s): published versions are immutable, cut a new version instead",
		e.Tag, e.Have, e.Want)
}

type tagPlan struct {
	tag      name.Tag
	manifest rawManifest
	digest   v1.Hash
}

type plannedManifest struct {
	arch   arch.Arch
	blobs  []*fileBlob
	titles []string
	body   []byte
	digest v1.Hash
	// referrers attach the arch's reference values to this manifest.
	referrers []plannedReferrer
}

// Publish pushes the tree to repo: blobs and manifests by digest, the index,
// the signatures, then the tags, version tag last. Re-running after a
// failure resumes: blobs already there are skipped, and tags that already
// point to this exact content are accepted.
func Publish(ctx context.Context, t *dist.Tree, repo name.Repository, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Signer == nil {
		return nil, errors.New("publish: a signer is required (nothing is published unsigned)")
	}
	if len(t.Arches) == 0 {
		return nil, fmt.Errorf("publish: %s has no architecture directories", t.Root)
	}
	files, err := checkSigned(t)
	if err != nil {
		return nil, err
	}
	commit, err := sourceCommit(t, o.Commit)
	if err != nil {
		return nil, err
	}
	backoff := o.Backoff
	if backoff.Steps == 0 {
		backoff = defaultBackoff
	}
	// A registry without the referrers API lists the attached reference
	// values under the fallback tag sha256-<manifest hex> (OCI distribution
	// spec, referrers tag schema): the one tag besides the release's and
	// cosign's that publishing writes.
	pusher, err := remote.NewPusher(append([]remote.Option{
		remote.WithContext(ctx), remote.WithRetryBackoff(backoff), remote.WithRetryStatusCodes(retryCodes...),
		remote.WithReferrersTagFallback(true),
	}, o.Remote...)...)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	ropts := append([]remote.Option{
		remote.WithContext(ctx), remote.WithRetryBackoff(backoff), remote.WithRetryStatusCodes(retryCodes...), remote.Reuse(pusher),
	}, o.Remote...)

	anns := map[string]string{AnnotationVersion: t.Version, AnnotationRevision: commit}
	if o.Source != "" {
		anns[AnnotationSource] = o.Source
	}
	if !o.Created.IsZero() {
		anns[AnnotationCreated] = o.Created.UTC().Format(time.RFC3339)
	}
	config := newMemBlob([]byte("{}"), mediaEmpty)
	var plans []*plannedManifest
	for _, ad := range t.Arches {
		p, err := planManifest(t, ad, files, config, anns)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	indexBody, indexDigest, err := planIndex(plans, anns)
	if err != nil {
		return nil, err
	}

	// Per-arch tags first, the version tag last.
	var tags []tagPlan
	for _, p := range plans {
		tags = append(tags, tagPlan{repo.Tag(t.Version + "-" + p.arch.Name), rawManifest{p.body, types.OCIManifestSchema1}, p.digest})
	}
	tags = append(tags, tagPlan{repo.Tag(t.Version), rawManifest{indexBody, types.OCIImageIndex}, indexDigest})
	// Refuse before uploading anything if a tag already names other content.
	for _, tg := range tags {
		if err := checkTag(tg.tag, tg.digest, ropts); err != nil {
			return nil, err
		}
	}

	res := &Result{Index: repo.Digest(indexDigest.String())}
	for _, p := range plans {
		log.Info("uploading", "arch", p.arch.Name, "files", len(p.blobs))
		if err := pusher.Upload(ctx, repo, config); err != nil {
			return nil, fmt.Errorf("publish %s: upload config: %w", p.arch.Name, err)
		}
		for i, b := range p.blobs {
			log.Info("upload", "file", p.titles[i], "bytes", b.size)
			if err := pusher.Upload(ctx, repo, b); err != nil {
				return nil, fmt.Errorf("publish: upload %s: %w", p.titles[i], err)
			}
		}
		d := repo.Digest(p.digest.String())
		if err := pusher.Put(ctx, d, rawManifest{body: p.body, mt: types.OCIManifestSchema1}); err != nil {
			return nil, fmt.Errorf("publish %s: push manifest: %w", p.arch.Name, err)
		}
		res.Manifests = append(res.Manifests, ArchManifest{Arch: p.arch, Digest: d})
		for _, rf := range p.referrers {
			rd := repo.Digest(rf.digest.String())
			log.Info("attach", "reference values", rf.target, "to", d.String())
			if err := pusher.Put(ctx, rd, rawManifest{body: rf.body, mt: types.OCIManifestSchema1}); err != nil {
				return nil, fmt.Errorf("publish %s: attach the reference values of %s: %w", p.arch.Name, rf.target, err)
			}
			res.Referrers = append(res.Referrers, rd)
		}
	}
	if err := pusher.Put(ctx, res.Index, rawManifest{body: indexBody, mt: types.OCIImageIndex}); err != nil {
		return nil, fmt.Errorf("publish: push index: %w", err)
	}
	for _, m := range res.Manifests {
		log.Info("sign", "manifest", m.Digest.String())
		if err := o.Signer.SignImage(ctx, m.Digest, ropts...); err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.Arch.Name, err)
		}
	}
	for _, rd := range res.Referrers {
		log.Info("sign", "referrer", rd.String())
		if err := o.Signer.SignImage(ctx, rd, ropts...); err != nil {
			return nil, fmt.Errorf("publish: sign the attached reference values %s: %w", rd, err)
		}
	}
	log.Info("sign", "index", res.Index.String())
	if err := o.Signer.SignImage(ctx, res.Index, ropts...); err != nil {
		return nil, fmt.Errorf("publish: sign index: %w", err)
	}
	// Everything the tags will name exists and is signed: move them, the
	// version tag last.
	for _, tg := range tags {
		log.Info("tag", "tag", tg.tag.String(), "digest", tg.digest.String())
		if err := pusher.Put(ctx, tg.tag, tg.manifest); err != nil {
			return nil, fmt.Errorf("publish: move tag %s: %w", tg.tag, err)
		}
		res.Tags = append(res.Tags, tg.tag)
	}
	return res, nil
}

// checkSigned verifies the files still match SHA256SUMS and that every
// summed file and SHA256SUMS have a bundle; it returns every file's digest.
func checkSigned(t *dist.Tree) (map[string]sums.Entry, error) {
	if !t.Has(dist.SumsFile) {
		return nil, fmt.Errorf("publish: %s has no %s: run `release attest` and `release sign` first", t.Root, dist.SumsFile)
	}
	listed, err := sums.ReadFile(t.Path(dist.SumsFile))
	if err != nil {
		return nil, err
	}
	all := append(append(t.Summed(), dist.SumsFile), t.Bundles()...)
	entries, err := sums.Compute(t.Root, all)
	if err != nil {
		return nil, err
	}
	files := map[string]sums.Entry{}
	for _, e := range entries {
		files[e.Path] = e
	}
	for _, want := range listed {
		got, ok := files[want.Path]
		if !ok {
			return nil, fmt.Errorf("publish: %s: listed in %s but missing", want.Path, dist.SumsFile)
		}
		if got.SHA256 != want.SHA256 {
			return nil, fmt.Errorf("publish: %s: sha256 %s does not match %s (%s): refusing to publish a modified file", want.Path, got.SHA256, dist.SumsFile, want.SHA256)
		}
	}
	inSums := map[string]bool{dist.SumsFile: true}
	for _, e := range listed {
		inSums[e.Path] = true
	}
	for _, rel := range t.Summed() {
		if !inSums[rel] {
			return nil, fmt.Errorf("publish: %s is not in %s: re-run `release attest` and `release sign`", rel, dist.SumsFile)
		}
	}
	for rel := range inSums {
		if _, ok := files[rel+dist.BundleSuffix]; !ok {
			return nil, fmt.Errorf("publish: %s is not signed (no %s%s): run `release sign`", rel, rel, dist.BundleSuffix)
		}
	}
	return files, nil
}

// sourceCommit is the commit the provenance names, unless overridden.
func sourceCommit(t *dist.Tree, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	sts, err := provenance.Read(t.Path(dist.ProvenanceFile))
	if err != nil {
		return "", fmt.Errorf("publish: the source commit comes from the provenance: %w", err)
	}
	for _, st := range sts {
		for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
			if c := d.Digest["gitCommit"]; c != "" {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("publish: %s names no git commit", dist.ProvenanceFile)
}

func planManifest(t *dist.Tree, ad dist.ArchDir, files map[string]sums.Entry, config *memBlob, base map[string]string) (*plannedManifest, error) {
	p := &plannedManifest{arch: ad.Arch}
	rels := append(append([]string(nil), t.Top...), ad.Files...)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        v1.Descriptor{MediaType: config.mt, Size: int64(len(config.data)), Digest: config.digest},
		Annotations:   map[string]string{AnnotationArch: ad.Arch.Name},
	}
	for k, v := range base {
		m.Annotations[k] = v
	}
	var kvers, cfgs, rvs []string
	for _, k := range ad.Kernels {
		kvers = append(kvers, k.Version)
		cfgs = append(cfgs, k.ConfigID)
	}
	if len(cfgs) > 0 {
		m.Annotations[AnnotationKernel] = strings.Join(uniq(kvers), ",")
		m.Annotations[AnnotationConfigID] = strings.Join(cfgs, ",")
	}
	for _, rel := range rels {
		e, ok := files[rel]
		if !ok {
			return nil, fmt.Errorf("publish: %s is neither in %s nor a bundle: re-run `release attest` and `release sign`", rel, dist.SumsFile)
		}
		h, err := v1.NewHash("sha256:" + e.SHA256)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(t.Path(rel))
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		b := &fileBlob{path: t.Path(rel), digest: h, size: fi.Size(), mt: mediaTypeOf(rel)}
		p.blobs = append(p.blobs, b)
		p.titles = append(p.titles, rel)
		l := v1.Descriptor{MediaType: b.mt, Size: b.size, Digest: h, Annotations: map[string]string{AnnotationTitle: rel}}
		if target, ok := targetOf(rel); ok && !dist.IsBundle(rel) {
			l.Annotations[AnnotationTarget] = target
			rvs = append(rvs, target+"="+h.String())
		}
		m.Layers = append(m.Layers, l)
	}
	if len(rvs) > 0 {
		m.Annotations[AnnotationReferenceValues] = strings.Join(rvs, ",")
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("publish: encode manifest: %w", err)
	}
	p.body = body
	p.digest, _, err = v1.SHA256(strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(body)), Digest: p.digest}
	if p.referrers, err = referrersOf(m, subject); err != nil {
		return nil, fmt.Errorf("publish %s: %w", ad.Arch.Name, err)
	}
	return p, nil
}

func planIndex(plans []*plannedManifest, anns map[string]string) ([]byte, v1.Hash, error) {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: map[string]string{}}
	for k, v := range anns {
		idx.Annotations[k] = v
	}
	for _, p := range plans {
		osName, archName, _ := strings.Cut(p.arch.OCIPlatform, "/")
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType:    types.OCIManifestSchema1,
			Size:         int64(len(p.body)),
			Digest:       p.digest,
			Platform:     &v1.Platform{OS: osName, Architecture: archName},
			ArtifactType: ArtifactType,
			Annotations:  map[string]string{AnnotationArch: p.arch.Name},
		})
	}
	body, err := json.Marshal(idx)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("publish: encode index: %w", err)
	}
	h, _, err := v1.SHA256(strings.NewReader(string(body)))
	return body, h, err
}

// checkTag fails when tag exists and names something other than want.
func checkTag(tag name.Tag, want v1.Hash, opts []remote.Option) error {
	desc, err := remote.Head(tag, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("publish: look up tag %s: %w", tag, err)
	}
	if desc.Digest != want {
		return &TagMovedError{Tag: tag, Have: desc.Digest, Want: want}
	}
	return nil
}

func uniq(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
