package adapt

import (
	"context"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

// TestKeylessVerifyStage runs the cut's publish and verify seams on a
// keyless release: signed by a test CA's certificate for the release
// workflow (in Actions: Fulcio's), published to a local registry, and
// verified against a trusted root naming that CA, with the identity and
// issuer the cut passes to the notes. Another identity stops the stage.
func TestKeylessVerifyStage(t *testing.T) {
	ctx := context.Background()
	reg := releasetest.StartRegistry(t)
	ca := releasetest.NewCA(t, "test-fulcio")
	signing := &Signing{Keyless: true, signer: ca.Signer(t, releasetest.ActionsLeaf())}
	g := &Registry{Repo: reg.Host + "/guestforge/guest", Signing: signing, NoBoot: true,
		TrustedRoot: releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca})}
	r := release(t, "x86_64", "aarch64")
	r.Commit = releasetest.Commit
	tr := releasetest.Attest(t, disttest.Build(t, t.TempDir()))
	if _, err := sign.Tree(ctx, tr, signing.signer, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := g.Publisher().Publish(ctx, r, tr)
	if err != nil {
		t.Fatal(err)
	}

	v := g.Verifier(releasetest.ActionsIdentity, releasetest.ActionsIssuer)
	lines, err := v.Describe(ctx, r)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "certificates must name "+releasetest.ActionsIdentity+", issuer "+releasetest.ActionsIssuer) ||
		!strings.Contains(strings.Join(lines, "\n"), "log entry required: false") {
		t.Fatalf("describe: %q %v", lines, err)
	}
	if err := v.Verify(ctx, r, ref, tr); err != nil {
		t.Fatalf("keyless verify stage: %v", err)
	}

	fork := "https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main"
	err = g.Verifier(fork, releasetest.ActionsIssuer).Verify(ctx, r, ref, tr)
	if err == nil || !strings.Contains(err.Error(), "does not match --certificate-identity "+fork) {
		t.Fatalf("verify stage with another identity: %v", err)
	}
}

// Without an identity a keyless verify has nothing to hold certificates
// to: the dry run says so, before anything is built.
func TestKeylessVerifyNeedsIdentity(t *testing.T) {
	g := &Registry{Repo: "127.0.0.1:5000/x", Signing: &Signing{Keyless: true}}
	r := release(t, "x86_64")
	for _, c := range []struct{ identity, issuer, want string }{
		{"", releasetest.ActionsIssuer, "--certificate-identity"},
		{releasetest.ActionsIdentity, "", "OIDC issuer"},
	} {
		v := g.Verifier(c.identity, c.issuer)
		if _, err := v.Describe(context.Background(), r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("describe %q %q: %v, want %q", c.identity, c.issuer, err, c.want)
		}
		if err := v.Verify(context.Background(), r, "127.0.0.1:5000/x@sha256:"+strings.Repeat("0", 64), nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("verify %q %q: %v, want %q", c.identity, c.issuer, err, c.want)
		}
	}
	// The public-good root is the default; its name shows in the dry run
	// without fetching it.
	lines, err := g.Verifier(releasetest.ActionsIdentity, releasetest.ActionsIssuer).Describe(context.Background(), r)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "Sigstore public-good trusted root (TUF): a Rekor entry and an SCT required") {
		t.Errorf("describe with the public-good root: %q %v", lines, err)
	}
}
