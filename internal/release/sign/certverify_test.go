package sign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// keylessPolicy is what a verifier of the release workflow's signatures
// expects, trusting only ca, without a transparency log.
func keylessPolicy(t *testing.T, trusted root.TrustedMaterial) sign.CertPolicy {
	t.Helper()
	return sign.CertPolicy{Identity: releasetest.ActionsIdentity, Issuer: releasetest.ActionsIssuer, Trusted: trusted}
}

func certVerifier(t *testing.T, p sign.CertPolicy) *sign.CertVerifier {
	t.Helper()
	v, err := sign.NewCertVerifier(p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signBlob(t *testing.T, s sign.BlobSigner, data []byte) []byte {
	t.Helper()
	b, err := s.SignBlob(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeylessBlob signs one blob with a certificate from a test CA (real
// ECDSA keys, a root and an intermediate, Fulcio's issuer extensions) and
// checks what must hold and what must not.
func TestKeylessBlob(t *testing.T) {
	ctx := context.Background()
	ca := releasetest.NewCA(t, "test-fulcio")
	trusted := releasetest.TrustedRoot(t, []*releasetest.CA{ca})
	blob := []byte("SHA256SUMS of a release\n")
	good := signBlob(t, ca.Signer(t, releasetest.ActionsLeaf()), blob)

	for name, p := range map[string]sign.CertPolicy{
		"exact": keylessPolicy(t, trusted),
		"regexps": {IdentityRegexp: `^https://github\.com/guestforge/guestforge/\.github/workflows/release\.yaml@refs/(heads/main|tags/v.*)$`,
			IssuerRegexp: `^https://token\.actions\.githubusercontent\.com$`, Trusted: trusted},
	} {
		if err := certVerifier(t, p).VerifyBlob(ctx, good, bytes.NewReader(blob)); err != nil {
			t.Errorf("%s: the good bundle does not verify: %v", name, err)
		}
	}

	otherCA := releasetest.NewCA(t, "other-fulcio")
	expired := releasetest.ActionsLeaf()
	expired.NotBefore, expired.NotAfter = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	noIssuer := releasetest.ActionsLeaf()
	noIssuer.Issuer = ""
	keyBundle := signBlob(t, releasetest.KeyPair(t, "main").Signer, blob)
	flipped := bytes.Clone(blob)
	flipped[3] ^= 1
	fork := "https://github.com/someone/guestforge/.github/workflows/release.yaml@refs/heads/main"

	cases := []struct {
		name   string
		bundle []byte
		data   []byte
		policy func(p *sign.CertPolicy)
		want   string
	}{
		{name: "wrong identity", bundle: good, policy: func(p *sign.CertPolicy) { p.Identity = fork },
			want: "certificate identity " + releasetest.ActionsIdentity + " does not match --certificate-identity " + fork},
		{name: "identity regexp", bundle: good, policy: func(p *sign.CertPolicy) { p.Identity, p.IdentityRegexp = "", `@refs/tags/v` },
			want: "does not match --certificate-identity-regexp @refs/tags/v"},
		{name: "wrong issuer", bundle: good, policy: func(p *sign.CertPolicy) { p.Issuer = "https://accounts.google.com" },
			want: "certificate OIDC issuer " + releasetest.ActionsIssuer + " does not match --certificate-oidc-issuer https://accounts.google.com"},
		{name: "no issuer extension", bundle: signBlob(t, ca.Signer(t, noIssuer), blob),
			want: "certificate OIDC issuer (none: the certificate has no OIDC issuer extension)"},
		{name: "another CA", bundle: signBlob(t, otherCA.Signer(t, releasetest.ActionsLeaf()), blob),
			want: `certificate issued by "CN=other-fulcio intermediate,O=other-fulcio" does not chain to any CA of the trusted root`},
		// No log, so the only clock is now, and the certificate ended an
		// hour ago. (With a log, it is the log's time: TestKeylessTlog.)
		{name: "expired certificate", bundle: signBlob(t, ca.Signer(t, expired), blob),
			want: "is not valid now, and without a transparency log the current time is the only clock it is checked at"},
		{name: "flipped artifact byte", bundle: good, data: flipped,
			want: "signature does not match the artifact"},
		{name: "tlog required", bundle: good, policy: func(p *sign.CertPolicy) { p.Tlog = true },
			want: "the bundle has no transparency log entry, and the policy requires one"},
		{name: "key-signed bundle", bundle: keyBundle, want: "signed with a key, not a certificate"},
		{name: "not a bundle", bundle: []byte(`{"mediaType": "nope"}`), want: "not a Sigstore bundle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := keylessPolicy(t, trusted)
			if c.policy != nil {
				c.policy(&p)
			}
			data := c.data
			if data == nil {
				data = blob
			}
			err := certVerifier(t, p).VerifyBlob(ctx, c.bundle, bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("verify = %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

func TestCertPolicyIsComplete(t *testing.T) {
	trusted := releasetest.TrustedRoot(t, []*releasetest.CA{releasetest.NewCA(t, "ca")})
	for want, p := range map[string]sign.CertPolicy{
		"needs the signer's identity":         {Issuer: "x", Trusted: trusted},
		"needs the OIDC issuer":               {Identity: "x", Trusted: trusted},
		"needs trusted material":              {Identity: "x", Issuer: "y"},
		"exclude each other":                  {Identity: "x", IdentityRegexp: "x", Issuer: "y", Trusted: trusted},
		"--certificate-identity-regexp \"(\"": {IdentityRegexp: "(", Issuer: "y", Trusted: trusted},
	} {
		if _, err := sign.NewCertVerifier(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", p, err, want)
		}
	}
}

// TestKeylessTree signs a whole dist tree keyless and verifies each file's
// bundle; a failure names the bundle (and so the file).
func TestKeylessTree(t *testing.T) {
	ctx := context.Background()
	ca := releasetest.NewCA(t, "test-fulcio")
	tr := treeSignedBy(t, ca.Signer(t, releasetest.ActionsLeaf()))
	v := certVerifier(t, keylessPolicy(t, releasetest.TrustedRoot(t, []*releasetest.CA{ca})))
	for _, rel := range append([]string{dist.SumsFile}, tr.Summed()...) {
		if err := sign.VerifyFile(ctx, v, tr, rel); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	wrong := certVerifier(t, sign.CertPolicy{Identity: "https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main",
		Issuer: releasetest.ActionsIssuer, Trusted: releasetest.TrustedRoot(t, []*releasetest.CA{ca})})
	err := sign.VerifyFile(ctx, wrong, tr, dist.SumsFile)
	want := "SHA256SUMS.sigstore.json: certificate identity " + releasetest.ActionsIdentity +
		" does not match --certificate-identity https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main"
	if err == nil || err.Error() != want {
		t.Fatalf("wrong identity: %v\nwant %s", err, want)
	}
}

func treeSignedBy(t *testing.T, s sign.BlobSigner) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(disttest.Build(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sums.Write(tr); err != nil {
		t.Fatal(err)
	}
	tr, _ = dist.Open(tr.Root)
	if _, err := sign.Tree(context.Background(), tr, s, nil); err != nil {
		t.Fatal(err)
	}
	tr, _ = dist.Open(tr.Root)
	return tr
}

// TestUpstreamCosignVerifiesKeylessBundles: the pinned cosign CLI (v2.6.5)
// accepts our keyless bundle offline with the test CA's trusted root, and
// refuses another identity, another issuer and a changed artifact.
func TestUpstreamCosignVerifiesKeylessBundles(t *testing.T) {
	releasetest.Tool(t, "cosign")
	ca := releasetest.NewCA(t, "test-fulcio")
	rootJSON := releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca})
	dir := t.TempDir()
	blob := filepath.Join(dir, "SHA256SUMS")
	data := []byte("0123  x86_64/initrd-default.img\n")
	os.WriteFile(blob, data, 0o644)
	os.WriteFile(blob+dist.BundleSuffix, signBlob(t, ca.Signer(t, releasetest.ActionsLeaf()), data), 0o644)
	verify := func(identity, issuer string) (string, error) {
		// No SCT (no CT log in the test root) and no log entry: say so,
		// as a private CA's users would.
		return releasetest.Cosign(t, nil, "verify-blob", "--new-bundle-format", "--bundle", blob+dist.BundleSuffix,
			"--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
			"--trusted-root", rootJSON, "--insecure-ignore-tlog=true", "--insecure-ignore-sct=true", blob)
	}
	if out, err := verify(releasetest.ActionsIdentity, releasetest.ActionsIssuer); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob: %v\n%s", err, out)
	}
	if out, err := verify("https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main", releasetest.ActionsIssuer); err == nil ||
		!strings.Contains(out, `expected SAN value "https://github.com/x/y/`) {
		t.Fatalf("cosign with another identity: %v\n%s", err, out)
	}
	if out, err := verify(releasetest.ActionsIdentity, "https://accounts.google.com"); err == nil || !strings.Contains(out, `expected issuer value "https://accounts.google.com"`) {
		t.Fatalf("cosign with another issuer: %v\n%s", err, out)
	}
	data[0] ^= 1
	os.WriteFile(blob, data, 0o644)
	if out, err := verify(releasetest.ActionsIdentity, releasetest.ActionsIssuer); err == nil || !strings.Contains(out, "failed to verify signature") {
		t.Fatalf("cosign on a changed artifact: %v\n%s", err, out)
	}
}

// TestKeylessTlog is the path Actions releases take: the bundle carries a
// transparency log entry and the policy requires one. The certificate is
// then checked at the log's integrated time (taken from the SET, which the
// log's key signs), not now: a certificate that expired an hour ago but
// was valid when the log recorded the signature verifies, exactly like a
// ten-minute Fulcio certificate a month after the release.
func TestKeylessTlog(t *testing.T) {
	ctx := context.Background()
	ca := releasetest.NewCA(t, "test-fulcio")
	log := releasetest.NewRekor(t)
	trusted := releasetest.TrustedRoot(t, []*releasetest.CA{ca}, log.Log)
	blob := []byte("SHA256SUMS of a release\n")

	now := time.Now()
	past := releasetest.ActionsLeaf()
	past.NotBefore, past.NotAfter = now.Add(-2*time.Hour), now.Add(-time.Hour)
	log.At = now.Add(-90 * time.Minute)
	logged := signBlob(t, ca.Signer(t, past, log), blob)

	withLog := keylessPolicy(t, trusted)
	withLog.Tlog = true
	if err := certVerifier(t, withLog).VerifyBlob(ctx, logged, bytes.NewReader(blob)); err != nil {
		t.Fatalf("a certificate valid when the log recorded the signature: %v", err)
	}
	// Without the log the same bundle has only the current time, at which
	// the certificate is expired.
	if err := certVerifier(t, keylessPolicy(t, trusted)).VerifyBlob(ctx, logged, bytes.NewReader(blob)); err == nil ||
		!strings.Contains(err.Error(), "is not valid now") {
		t.Fatalf("the same bundle, log not required: %v", err)
	}

	// Logged after the certificate expired: refused.
	log.At = now.Add(-30 * time.Minute)
	late := signBlob(t, ca.Signer(t, past, log), blob)
	if err := certVerifier(t, withLog).VerifyBlob(ctx, late, bytes.NewReader(blob)); err == nil ||
		!strings.Contains(err.Error(), "was not valid when the transparency log recorded the signature") {
		t.Fatalf("logged after expiry: %v", err)
	}

	// A log the trusted root does not name proves nothing.
	log.At = time.Time{}
	fresh := signBlob(t, ca.Signer(t, releasetest.ActionsLeaf(), log), blob)
	other := keylessPolicy(t, releasetest.TrustedRoot(t, []*releasetest.CA{ca}, releasetest.NewRekor(t).Log))
	other.Tlog = true
	if err := certVerifier(t, other).VerifyBlob(ctx, fresh, bytes.NewReader(blob)); err == nil ||
		!strings.Contains(err.Error(), "transparency log entry does not verify against the trusted root's logs") {
		t.Fatalf("an unknown log: %v", err)
	}
	// The SET covers the integrated time: backdating the late entry into
	// the certificate's validity breaks it, and so does one flipped bit of
	// the log's signature.
	for name, forge := range map[string]func(e *protorekor.TransparencyLogEntry){
		"backdated": func(e *protorekor.TransparencyLogEntry) { e.IntegratedTime = now.Add(-90 * time.Minute).Unix() },
		"flipped":   func(e *protorekor.TransparencyLogEntry) { e.InclusionPromise.SignedEntryTimestamp[8] ^= 1 },
	} {
		var b sgbundle.Bundle
		if err := b.UnmarshalJSON(late); err != nil {
			t.Fatal(err)
		}
		forge(b.VerificationMaterial.TlogEntries[0])
		forged, err := protojson.Marshal(b.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		if err := certVerifier(t, withLog).VerifyBlob(ctx, forged, bytes.NewReader(blob)); err == nil ||
			!strings.Contains(err.Error(), "transparency log entry does not verify against the trusted root's logs") {
			t.Errorf("%s SET: %v", name, err)
		}
	}
}

// TestUpstreamCosignVerifiesLoggedBundles: cosign v2.6.5 checks our test
// log's SET and inclusion proof too, offline, when not told to ignore the
// log: so the log-required path is held to what upstream holds it to.
func TestUpstreamCosignVerifiesLoggedBundles(t *testing.T) {
	releasetest.Tool(t, "cosign")
	ca := releasetest.NewCA(t, "test-fulcio")
	log := releasetest.NewRekor(t)
	dir := t.TempDir()
	blob := filepath.Join(dir, "SHA256SUMS")
	data := []byte("0123  x86_64/initrd-default.img\n")
	os.WriteFile(blob, data, 0o644)
	os.WriteFile(blob+dist.BundleSuffix, signBlob(t, ca.Signer(t, releasetest.ActionsLeaf(), log), data), 0o644)
	verify := func(rootJSON string) (string, error) {
		return releasetest.Cosign(t, nil, "verify-blob", "--new-bundle-format", "--bundle", blob+dist.BundleSuffix,
			"--certificate-identity", releasetest.ActionsIdentity, "--certificate-oidc-issuer", releasetest.ActionsIssuer,
			"--trusted-root", rootJSON, "--insecure-ignore-sct=true", blob)
	}
	if out, err := verify(releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca}, log.Log)); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob with the log required: %v\n%s", err, out)
	}
	if out, err := verify(releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca})); err == nil || !strings.Contains(out, "not enough verified log entries") {
		t.Fatalf("cosign accepted a log the trusted root does not name:\n%s", out)
	}
}
