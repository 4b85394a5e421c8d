package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/verify"
)

// keylessRelease is a dist tree signed keyless by the release workflow's
// identity with a certificate from ca, and the signer (for publishing).
func keylessRelease(t *testing.T, ca *releasetest.CA) (*dist.Tree, *sign.Keyless) {
	t.Helper()
	s := ca.Signer(t, releasetest.ActionsLeaf())
	tr := releasetest.Attest(t, disttest.Build(t, t.TempDir()))
	if _, err := sign.Tree(context.Background(), tr, s, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	return tr, s
}

func keyless(t *testing.T, trusted root.TrustedMaterial, identity, issuer string) *sign.CertVerifier {
	t.Helper()
	v, err := sign.NewCertVerifier(sign.CertPolicy{Identity: identity, Issuer: issuer, Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestKeylessTree(t *testing.T) {
	ctx := context.Background()
	ca := releasetest.NewCA(t, "test-fulcio")
	trusted := releasetest.TrustedRoot(t, []*releasetest.CA{ca})
	tr, _ := keylessRelease(t, ca)
	good := keyless(t, trusted, releasetest.ActionsIdentity, releasetest.ActionsIssuer)
	rep, err := verify.Tree(ctx, tr, verify.Options{Keyless: good, NoBoot: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range rep.Items {
		if strings.HasPrefix(it, "signature ") {
			n++
		}
	}
	if want := len(tr.Summed()) + 1; n != want {
		t.Fatalf("%d keyless signatures checked, want %d", n, want)
	}

	other := releasetest.NewCA(t, "other-fulcio")
	fork := "https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main"
	cases := []struct {
		name       string
		v          *sign.CertVerifier
		mutate     func(t *testing.T, tr *dist.Tree)
		step, item string
		msg        string
	}{
		{name: "wrong identity", v: keyless(t, trusted, fork, releasetest.ActionsIssuer), step: "signature", item: dist.SumsFile,
			msg: "signature check failed: SHA256SUMS.sigstore.json: certificate identity " + releasetest.ActionsIdentity + " does not match --certificate-identity " + fork},
		{name: "wrong issuer", v: keyless(t, trusted, releasetest.ActionsIdentity, "https://gitlab.com"), step: "signature", item: dist.SumsFile,
			msg: "SHA256SUMS.sigstore.json: certificate OIDC issuer " + releasetest.ActionsIssuer + " does not match --certificate-oidc-issuer https://gitlab.com"},
		{name: "another CA trusted", step: "signature", item: dist.SumsFile,
			v:   keyless(t, releasetest.TrustedRoot(t, []*releasetest.CA{other}), releasetest.ActionsIdentity, releasetest.ActionsIssuer),
			msg: "SHA256SUMS.sigstore.json: certificate issued by \"CN=test-fulcio intermediate,O=test-fulcio\" does not chain to any CA of the trusted root"},
		{name: "flipped byte", v: good, step: "checksum", item: "aarch64/initrd-default.img",
			mutate: func(t *testing.T, tr *dist.Tree) { releasetest.FlipByte(t, tr.Path("aarch64/initrd-default.img")) }},
		{name: "tampered SHA256SUMS", v: good, step: "signature", item: dist.SumsFile,
			msg: "signature check failed: SHA256SUMS was changed after it was signed: its sha256 is ",
			mutate: func(t *testing.T, tr *dist.Tree) {
				releasetest.FlipByte(t, tr.Path(dist.SumsFile))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, _ := keylessRelease(t, ca)
			if c.mutate != nil {
				c.mutate(t, tr)
			}
			_, err := verify.Dir(ctx, tr.Root, verify.Options{Keyless: c.v, NoBoot: true})
			var f *verify.Failure
			if !errors.As(err, &f) || f.Step != c.step || f.Item != c.item {
				t.Fatalf("verify = %v, want a %s failure naming %s", err, c.step, c.item)
			}
			if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("message %q\nwant it to contain %q", err, c.msg)
			}
		})
	}
}

// TestKeylessRef publishes a keyless release to a local registry (the
// manifests' signatures attached as Sigstore bundles through the referrers
// API, as Keyless.SignImage does in Actions), pulls it back by digest and
// verifies it with the identity; another identity is refused at the first
// registry signature, named by digest.
func TestKeylessRef(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	ca := releasetest.NewCA(t, "test-fulcio")
	trusted := releasetest.TrustedRoot(t, []*releasetest.CA{ca})
	tr, s := keylessRelease(t, ca)
	repo, err := name.NewRepository(reg.Host + "/guestforge/guest")
	if err != nil {
		t.Fatal(err)
	}
	res, err := publish.Publish(ctx, tr, repo, publish.Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	good := keyless(t, trusted, releasetest.ActionsIdentity, releasetest.ActionsIssuer)
	rep, err := verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Keyless: good, NoBoot: true})
	if err != nil {
		t.Fatalf("verify %s: %v", res.Index, err)
	}
	var regSigs []string
	for _, it := range rep.Items {
		if strings.HasPrefix(it, "registry signature ") {
			regSigs = append(regSigs, it)
		}
	}
	if len(regSigs) != 1+len(res.Manifests) {
		t.Fatalf("registry signatures checked: %v, want the index and %d manifests", regSigs, len(res.Manifests))
	}

	// Upstream cosign (v2.6.5) finds and accepts the same referrer bundles,
	// so `cosign verify --certificate-identity ...` from the notes works.
	releasetest.Tool(t, "cosign")
	rootJSON := releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca})
	cosignVerify := func(identity string) (string, error) {
		return releasetest.Cosign(t, nil, "verify", "--certificate-identity", identity,
			"--certificate-oidc-issuer", releasetest.ActionsIssuer, "--trusted-root", rootJSON,
			"--insecure-ignore-tlog=true", "--insecure-ignore-sct=true",
			"--allow-insecure-registry", "--allow-http-registry", res.Index.String())
	}
	if out, err := cosignVerify(releasetest.ActionsIdentity); err != nil || !strings.Contains(out, "The code-signing certificate was verified using trusted certificate authority certificates") {
		t.Fatalf("cosign verify %s: %v\n%s", res.Index, err, out)
	}

	fork := "https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main"
	if out, err := cosignVerify(fork); err == nil || !strings.Contains(out, `expected SAN value "`+fork) {
		t.Fatalf("cosign verify with another identity: %v\n%s", err, out)
	}
	_, err = verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{
		Keyless: keyless(t, trusted, fork, releasetest.ActionsIssuer), NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "registry signature" || !strings.HasPrefix(f.Item, repo.String()+"@sha256:") {
		t.Fatalf("verify with another identity = %v, want a registry signature failure naming a digest", err)
	}
	if want := "certificate identity " + releasetest.ActionsIdentity + " does not match --certificate-identity " + fork; !strings.Contains(err.Error(), want) {
		t.Fatalf("message %q\nwant it to contain %q", err, want)
	}
	// A key verifier finds no key signature on a keyless release.
	k := releasetest.KeyPair(t, "main")
	if _, err := verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true}); !errors.As(err, &f) || f.Step != "registry signature" {
		t.Fatalf("verify a keyless release with a key: %v", err)
	}
	if _, err := verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Key: k.Verifier, Keyless: good}); err == nil ||
		!strings.Contains(err.Error(), "exclude each other") {
		t.Fatalf("key and keyless together: %v", err)
	}
}
