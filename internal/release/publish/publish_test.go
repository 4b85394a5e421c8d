package publish_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/verify"
)

var fast = remote.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Steps: 3}

func opts(k *releasetest.Keys) publish.Options {
	return publish.Options{Signer: k.Signer, Backoff: fast, Created: time.Unix(disttest.Epoch, 0)}
}

func signedTree(t *testing.T, k *releasetest.Keys) *dist.Tree {
	t.Helper()
	return releasetest.AttestAndSign(t, disttest.Build(t, t.TempDir()), k)
}

func repo(t *testing.T, host string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(host + "/guestforge/guest")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tagDigest is the digest a tag names, or "" when the tag does not exist.
func tagDigest(t *testing.T, r name.Repository, tag string) string {
	t.Helper()
	d, err := remote.Head(r.Tag(tag))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

func TestPublishPullVerify(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	tr := signedTree(t, k)
	r := repo(t, reg.Host)

	res, err := publish.Publish(ctx, tr, r, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	wantTags := []string{"2026.1.0-x86_64", "2026.1.0-aarch64", "2026.1.0"}
	if len(res.Tags) != 3 {
		t.Fatalf("tags %v", res.Tags)
	}
	for i, tg := range res.Tags {
		if tg.TagStr() != wantTags[i] {
			t.Errorf("tag %d = %s, want %s (version tag last)", i, tg.TagStr(), wantTags[i])
		}
	}
	if got := tagDigest(t, r, "2026.1.0"); got != res.Index.DigestStr() {
		t.Fatalf("version tag names %s, want the index %s", got, res.Index.DigestStr())
	}

	// The index and manifests say what they are.
	idx, err := remote.Index(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if im.Annotations[publish.AnnotationVersion] != "2026.1.0" || im.Annotations[publish.AnnotationRevision] != releasetest.Commit {
		t.Errorf("index annotations %v", im.Annotations)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v", platforms)
	}
	img, err := remote.Image(res.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.ArtifactType != publish.ArtifactType || m.Annotations[publish.AnnotationArch] != "aarch64" ||
		m.Annotations[publish.AnnotationConfigID] != disttest.ConfigID || m.Annotations[publish.AnnotationKernel] != disttest.KernelVersion ||
		m.Annotations[publish.AnnotationCreated] != "2026-01-01T00:00:00Z" {
		t.Errorf("aarch64 manifest: artifactType %s annotations %v", m.ArtifactType, m.Annotations)
	}
	titles := map[string]bool{}
	for _, l := range m.Layers {
		titles[l.Annotations[publish.AnnotationTitle]] = true
	}
	for _, want := range []string{"SHA256SUMS", "SHA256SUMS.sigstore.json", "provenance.intoto.jsonl", "sbom.spdx.json",
		"aarch64/rootfs-default.img", "aarch64/rootfs-default.img.sigstore.json", "aarch64/sbom-default.spdx.json"} {
		if !titles[want] {
			t.Errorf("aarch64 manifest lacks %s", want)
		}
	}
	if titles["x86_64/rootfs-default.img"] {
		t.Error("aarch64 manifest carries x86_64 files")
	}

	// Pull back by digest: the same bytes, and everything verifies.
	dest := t.TempDir()
	rep, err := verify.Ref(ctx, res.Index, dest, verify.Options{Key: k.Verifier, NoBoot: true, Publish: publish.Options{Backoff: fast}})
	if err != nil {
		t.Fatal(err)
	}
	pulled, orig := releasetest.Files(t, rep.Root), releasetest.Files(t, tr.Root)
	if len(pulled) != len(orig) {
		t.Fatalf("pulled %d files, published %d", len(pulled), len(orig))
	}
	for rel, sum := range orig {
		if pulled[rel] != sum {
			t.Errorf("%s: pulled %s, published %s", rel, pulled[rel], sum)
		}
	}
	if !strings.HasPrefix(rep.Items[0], "registry signature "+res.Index.String()) {
		t.Errorf("first check %q, want the index signature", rep.Items[0])
	}

	// One arch by its tag: a partial tree that verifies on its own.
	one, err := verify.Ref(ctx, r.Tag("2026.1.0-aarch64"), t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true, Publish: publish.Options{Backoff: fast}})
	if err != nil {
		t.Fatalf("verify one arch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(one.Root, "x86_64")); !os.IsNotExist(err) {
		t.Errorf("a single-arch pull has an x86_64 directory: %v", err)
	}

	// Publishing again resumes into the same state and adds no signature.
	if _, err := publish.Publish(ctx, tr, r, opts(k)); err != nil {
		t.Fatalf("republish: %v", err)
	}
	sigs, err := remote.Image(r.Tag(strings.Replace(res.Index.DigestStr(), ":", "-", 1) + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := sigs.Layers(); len(ls) != 1 {
		t.Errorf("index has %d signatures after a republish, want 1", len(ls))
	}

	// A wrong key is refused at the first signature.
	_, err = verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Key: releasetest.KeyPair(t, "other").Verifier, NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "registry signature" || f.Item != res.Index.String() {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestUpstreamCosignVerifiesRegistrySignatures(t *testing.T) {
	releasetest.Tool(t, "cosign")
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	r := repo(t, reg.Host)
	res, err := publish.Publish(ctx, signedTree(t, k), r, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{r.Tag("2026.1.0").String(), r.Tag("2026.1.0-x86_64").String(), res.Manifests[1].Digest.String()} {
		out, err := releasetest.Cosign(t, nil, "verify", "--key", k.Public, "--insecure-ignore-tlog=true",
			"--allow-insecure-registry", "--allow-http-registry", ref)
		if err != nil || !strings.Contains(out, "The signatures were verified against the specified public key") {
			t.Fatalf("cosign verify %s: %v\n%s", ref, err, out)
		}
		// The payload names the digest the tag resolves to.
		if !strings.Contains(out, `"docker-manifest-digest":"sha256:`) {
			t.Errorf("cosign verify %s printed no payload:\n%s", ref, out)
		}
	}
	out, err := releasetest.Cosign(t, nil, "verify", "--key", releasetest.KeyPair(t, "other").Public, "--insecure-ignore-tlog=true",
		"--allow-insecure-registry", "--allow-http-registry", r.Tag("2026.1.0").String())
	if err == nil {
		t.Fatalf("cosign verify accepted another key:\n%s", out)
	}
}

// TestTruncatedUploadLeavesNoTag cuts the rootfs blob's upload short in a
// proxy: the registry refuses the digest, publish fails naming the file, no
// tag exists, and a clean re-run completes.
func TestTruncatedUploadLeavesNoTag(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	tr := signedTree(t, k)
	var cut atomic.Int32
	proxy := releasetest.Proxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			body, _ := io.ReadAll(r.Body)
			if len(body) >= disttest.RootfsSize {
				body = body[:len(body)/2]
				cut.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		return false
	})
	_, err := publish.Publish(ctx, tr, repo(t, proxy), opts(k))
	if err == nil || !strings.Contains(err.Error(), "upload x86_64/rootfs-default.img") {
		t.Fatalf("publish through a cutting proxy: %v", err)
	}
	t.Logf("publish through the cutting proxy: %v", err)
	if cut.Load() == 0 {
		t.Fatal("the proxy never cut an upload: the test proves nothing")
	}
	direct := repo(t, reg.Host)
	for _, tag := range []string{"2026.1.0", "2026.1.0-x86_64", "2026.1.0-aarch64"} {
		if d := tagDigest(t, direct, tag); d != "" {
			t.Errorf("tag %s exists (%s) after a failed publish", tag, d)
		}
	}
	res, err := publish.Publish(ctx, tr, direct, opts(k))
	if err != nil {
		t.Fatalf("clean re-run: %v", err)
	}
	if d := tagDigest(t, direct, "2026.1.0"); d != res.Index.DigestStr() {
		t.Fatalf("after the re-run the version tag names %q", d)
	}
}

// TestFailureBeforeTagsKeepsOldRelease makes the registry refuse the index
// (after every arch manifest went up): the previous release's tag must
// still name the previous release, and no per-arch tag may move either.
func TestFailureBeforeTagsKeepsOldRelease(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	direct := repo(t, reg.Host)
	tr := signedTree(t, k)
	var refused atomic.Int32
	proxy := releasetest.Proxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") &&
			r.Header.Get("Content-Type") == "application/vnd.oci.image.index.v1+json" {
			refused.Add(1)
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected"}]}`, http.StatusInternalServerError)
			return true
		}
		return false
	})
	_, err := publish.Publish(ctx, tr, repo(t, proxy), opts(k))
	if err == nil || !strings.Contains(err.Error(), "push index") {
		t.Fatalf("publish with a failing index PUT: %v", err)
	}
	t.Logf("publish with a failing index PUT: %v", err)
	if n := refused.Load(); n != int32(fast.Steps) {
		t.Errorf("the index PUT was tried %d times, want %d (retries with backoff)", n, fast.Steps)
	}
	for _, tag := range []string{"2026.1.0", "2026.1.0-x86_64", "2026.1.0-aarch64"} {
		if d := tagDigest(t, direct, tag); d != "" {
			t.Errorf("tag %s moved to %s although the publish failed", tag, d)
		}
	}
}

// TestTransientErrorsAreRetried answers the first two blob uploads with 503.
func TestTransientErrorsAreRetried(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	var failed atomic.Int32
	proxy := releasetest.Proxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") && failed.Load() < 2 {
			failed.Add(1)
			http.Error(w, "injected", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	res, err := publish.Publish(ctx, signedTree(t, k), repo(t, proxy), opts(k))
	if err != nil {
		t.Fatalf("publish through two 503s: %v", err)
	}
	if failed.Load() != 2 {
		t.Fatalf("injected %d failures, want 2", failed.Load())
	}
	if d := tagDigest(t, repo(t, reg.Host), "2026.1.0"); d != res.Index.DigestStr() {
		t.Fatalf("version tag names %q", d)
	}
}

func TestPublishedVersionIsImmutable(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	r := repo(t, reg.Host)
	first, err := publish.Publish(ctx, signedTree(t, k), r, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	root := disttest.Build(t, t.TempDir())
	os.WriteFile(filepath.Join(root, "x86_64", "root_hash.txt"), []byte("another build\n"), 0o644)
	_, err = publish.Publish(ctx, releasetest.AttestAndSign(t, root, k), r, opts(k))
	var moved *publish.TagMovedError
	if !errors.As(err, &moved) {
		t.Fatalf("publishing other content under a released version: %v", err)
	}
	if d := tagDigest(t, r, "2026.1.0"); d != first.Index.DigestStr() {
		t.Fatalf("the version tag moved to %s", d)
	}
	t.Logf("republishing other content: %v", err)
}

// TestCorruptDownloadAndMissingSignature: a proxy that flips a byte of the
// kernel on the way down, and a manifest whose signature tag was deleted.
func TestCorruptDownloadAndMissingSignature(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	k := releasetest.KeyPair(t, "main")
	tr := signedTree(t, k)
	r := repo(t, reg.Host)
	res, err := publish.Publish(ctx, tr, r, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	kernelSum := releasetest.Files(t, tr.Root)["x86_64/vmlinuz-6.12.117-3f2a9c1d"]
	proxy := releasetest.Proxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/sha256:"+kernelSum) {
			resp, err := http.Get("http://" + reg.Host + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return true
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			body[len(body)/2] ^= 1
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body)
			return true
		}
		return false
	})
	via := repo(t, proxy)
	_, err = verify.Ref(ctx, via.Digest(res.Index.DigestStr()), t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true, Publish: publish.Options{Backoff: fast}})
	if err == nil || !strings.Contains(err.Error(), "x86_64/vmlinuz-6.12.117-3f2a9c1d") {
		t.Fatalf("corrupted download: %v", err)
	}
	t.Logf("verify through a corrupting proxy: %v", err)

	// Delete the aarch64 manifest's signature: verify names that manifest.
	arm := res.Manifests[1].Digest
	sigTag := r.Tag(strings.Replace(arm.DigestStr(), ":", "-", 1) + ".sig")
	desc, err := remote.Head(sigTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(r.Digest(desc.Digest.String())); err != nil {
		t.Fatal(err)
	}
	_, err = verify.Ref(ctx, r.Tag("2026.1.0"), t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "registry signature" || f.Item != arm.String() {
		t.Fatalf("missing registry signature: %v", err)
	}
	t.Logf("verify with a deleted signature: %v", err)
}
