package sign

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Verifier checks the signatures of a release: a cosign key (KeyVerifier)
// or a keyless certificate policy (CertVerifier).
type Verifier interface {
	// VerifyBlob checks a Sigstore bundle against the artifact's bytes.
	VerifyBlob(ctx context.Context, bundleJSON []byte, artifact io.Reader) error
	// VerifyImage checks that the manifest d carries a valid signature.
	VerifyImage(ctx context.Context, d name.Digest, opts ...remote.Option) error
}

var (
	_ Verifier = (*KeyVerifier)(nil)
	_ Verifier = (*CertVerifier)(nil)
)

// CertPolicy is what a keyless signature must prove: a certificate chaining
// to a trusted CA, issued to the expected identity by the expected OIDC
// issuer, over the artifact's digest. Identity and issuer are each given
// exactly or as a regular expression (Go syntax, unanchored unless anchored),
// as cosign's --certificate-identity[-regexp] and
// --certificate-oidc-issuer[-regexp] are.
type CertPolicy struct {
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	// Trusted holds the CAs (and logs, CT logs, TSAs) to trust: the
	// public-good Sigstore root (PublicGoodTrustedRoot) or a trusted root
	// JSON file (LoadTrustedRoot).
	Trusted root.TrustedMaterial
	// Tlog requires every bundle to carry a transparency log (Rekor) entry
	// whose inclusion proof and signed entry timestamp verify against the
	// trusted root's logs; the certificate must then have been valid when
	// the log (or an RFC 3161 timestamp authority of the trusted root)
	// observed the signature. Without Tlog, log entries are not checked and
	// the certificate must be valid now: only fit for private CAs with
	// long-lived certificates, as `cosign --insecure-ignore-tlog` is.
	Tlog bool
	// SCT requires the certificate to embed a signed certificate timestamp
	// from a CT log of the trusted root, as every public-good Fulcio
	// certificate does.
	SCT bool
}

// Describe is the policy in cosign's flag words, for error messages and
// dry runs.
func (p CertPolicy) Describe() string {
	var parts []string
	if p.Identity != "" {
		parts = append(parts, "--certificate-identity "+p.Identity)
	}
	if p.IdentityRegexp != "" {
		parts = append(parts, "--certificate-identity-regexp "+p.IdentityRegexp)
	}
	if p.Issuer != "" {
		parts = append(parts, "--certificate-oidc-issuer "+p.Issuer)
	}
	if p.IssuerRegexp != "" {
		parts = append(parts, "--certificate-oidc-issuer-regexp "+p.IssuerRegexp)
	}
	if !p.Tlog {
		parts = append(parts, "no transparency log")
	}
	return strings.Join(parts, " ")
}

// CertVerifier checks keyless (certificate) signatures against a CertPolicy.
type CertVerifier struct {
	policy   CertPolicy
	identity sgverify.CertificateIdentity
	v        *sgverify.Verifier
}

// NewCertVerifier checks the policy is complete (an identity, an issuer,
// trusted material, valid regular expressions) and prepares the verifier.
func NewCertVerifier(p CertPolicy) (*CertVerifier, error) {
	switch {
	case p.Identity == "" && p.IdentityRegexp == "":
		return nil, errors.New("keyless verification needs the signer's identity: pass --certificate-identity (e.g. https://github.com/OWNER/REPO/.github/workflows/release.yaml@refs/heads/main) or --certificate-identity-regexp")
	case p.Identity != "" && p.IdentityRegexp != "":
		return nil, errors.New("--certificate-identity and --certificate-identity-regexp exclude each other: give one")
	case p.Issuer == "" && p.IssuerRegexp == "":
		return nil, errors.New("keyless verification needs the OIDC issuer: pass --certificate-oidc-issuer (GitHub Actions: https://token.actions.githubusercontent.com) or --certificate-oidc-issuer-regexp")
	case p.Issuer != "" && p.IssuerRegexp != "":
		return nil, errors.New("--certificate-oidc-issuer and --certificate-oidc-issuer-regexp exclude each other: give one")
	case p.Trusted == nil:
		return nil, errors.New("keyless verification needs trusted material: the Sigstore public-good root, or --trusted-root FILE")
	}
	san, err := sgverify.NewSANMatcher(p.Identity, p.IdentityRegexp)
	if err != nil {
		return nil, fmt.Errorf("--certificate-identity-regexp %q: %w", p.IdentityRegexp, err)
	}
	iss, err := sgverify.NewIssuerMatcher(p.Issuer, p.IssuerRegexp)
	if err != nil {
		return nil, fmt.Errorf("--certificate-oidc-issuer-regexp %q: %w", p.IssuerRegexp, err)
	}
	id, err := sgverify.NewCertificateIdentity(san, iss, certificate.Extensions{})
	if err != nil {
		return nil, err
	}
	// The time a certificate is checked at, with a log: when the log (or a
	// timestamp authority) saw the signature, so a ten-minute Fulcio
	// certificate verifies for ever after. Without: now, as cosign does with
	// --insecure-ignore-tlog.
	var opts []sgverify.VerifierOption
	if p.Tlog {
		opts = append(opts, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	} else {
		opts = append(opts, sgverify.WithCurrentTime())
	}
	if p.SCT {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	v, err := sgverify.NewVerifier(p.Trusted, opts...)
	if err != nil {
		return nil, fmt.Errorf("keyless verifier: %w", err)
	}
	return &CertVerifier{policy: p, identity: id, v: v}, nil
}

// Policy returns the policy the verifier holds.
func (c *CertVerifier) Policy() CertPolicy { return c.policy }

// VerifyBlob checks a Sigstore bundle against the artifact's bytes: the
// certificate chain to a trusted CA at the observed (or current) time, the
// transparency log entry when the policy requires one, the signature over
// the artifact's digest, then the certificate's identity and issuer.
func (c *CertVerifier) VerifyBlob(_ context.Context, bundleJSON []byte, artifact io.Reader) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	return c.verify(&b, sgverify.WithArtifact(artifact))
}

// VerifyImage checks that d has at least one Sigstore bundle attached
// through the referrers API (as Keyless.SignImage and `cosign sign
// --new-bundle-format` attach them) whose DSSE statement names d and whose
// certificate satisfies the policy. It reports why every bundle failed
// when none holds.
func (c *CertVerifier) VerifyImage(ctx context.Context, d name.Digest, opts ...remote.Option) error {
	co := &cosign.CheckOpts{RegistryClientOpts: []ociremote.Option{
		ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)}}
	bundles, h, err := cosign.GetBundles(ctx, d, co)
	if err != nil {
		return fmt.Errorf("%s: no signature bundle found: %w", d, err)
	}
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return fmt.Errorf("%s: digest: %w", d, err)
	}
	var errs []error
	for _, b := range bundles {
		err := c.verify(b, sgverify.WithArtifactDigest(h.Algorithm, digest))
		if err == nil {
			// The digest matched a subject; the statement must also be a
			// signature, not some other attestation someone may attach.
			if env := b.GetDsseEnvelope(); env == nil {
				err = errors.New("bundle holds no DSSE envelope")
			} else if pt, perr := predicateType(env.GetPayload()); perr != nil {
				err = perr
			} else if pt != types.CosignSignPredicateType {
				err = fmt.Errorf("statement is a %s attestation, not a cosign signature (%s)", pt, types.CosignSignPredicateType)
			}
		}
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%s: none of %d signature bundles verified: %w", d, len(bundles), errors.Join(errs...))
}

// verify runs sigstore-go's checks, then matches the identity itself so a
// mismatch says which field differed and what was expected.
func (c *CertVerifier) verify(b *sgbundle.Bundle, artifact sgverify.ArtifactPolicyOption) error {
	vc, err := b.VerificationContent()
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if vc.Certificate() == nil {
		return errors.New("the bundle is signed with a key, not a certificate: verify it with --key, or it is not the keyless release it claims to be")
	}
	if c.policy.Tlog {
		if es, err := b.TlogEntries(); err == nil && len(es) == 0 {
			return fmt.Errorf("the bundle has no transparency log entry, and the policy requires one (%s)", c.policy.Describe())
		}
	}
	// The identity is matched right below, on the certificate sigstore-go
	// verified: doing it here rather than as a policy option lets the error
	// name the field and both values.
	res, err := c.v.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return c.explain(err, vc.Certificate())
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		return errors.New("verified without a certificate: refusing a keyless result with no identity")
	}
	got := *res.Signature.Certificate
	if err := c.identity.SubjectAlternativeName.Verify(got); err != nil {
		want := "--certificate-identity " + c.policy.Identity
		if c.policy.IdentityRegexp != "" {
			want = "--certificate-identity-regexp " + c.policy.IdentityRegexp
		}
		return fmt.Errorf("certificate identity %s does not match %s", got.SubjectAlternativeName, want)
	}
	if err := c.identity.Issuer.Verify(got); err != nil {
		want := "--certificate-oidc-issuer " + c.policy.Issuer
		if c.policy.IssuerRegexp != "" {
			want = "--certificate-oidc-issuer-regexp " + c.policy.IssuerRegexp
		}
		have := got.Issuer
		if have == "" {
			have = "(none: the certificate has no OIDC issuer extension)"
		}
		return fmt.Errorf("certificate OIDC issuer %s does not match %s", have, want)
	}
	// Belt and braces: sigstore-go's own matcher, exactly as a policy
	// option would run it.
	if err := c.identity.Verify(got); err != nil {
		return fmt.Errorf("certificate identity: %w", err)
	}
	return nil
}

// explain rewords sigstore-go's failures with what they mean for a
// release. sigstore-go says only that the leaf did not verify; the leaf
// itself tells whether it was out of date or from an unknown CA.
func (c *CertVerifier) explain(err error, leaf *x509.Certificate) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to verify leaf certificate"):
		return fmt.Errorf("%s: %w", c.diagnose(leaf), err)
	case strings.Contains(msg, "integrated time outside certificate validity"):
		return fmt.Errorf("certificate (valid %s to %s) was not valid when the transparency log recorded the signature: %w",
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), err)
	case strings.Contains(msg, "failed to verify log inclusion"):
		return fmt.Errorf("transparency log entry does not verify against the trusted root's logs: %w", err)
	case strings.Contains(msg, "failed to verify signed certificate timestamp"):
		return fmt.Errorf("certificate has no valid SCT from a CT log of the trusted root: %w", err)
	case strings.Contains(msg, "failed to verify signature"):
		return fmt.Errorf("signature does not match the artifact (changed after signing, or the bundle of another file): %w", err)
	}
	return err
}

// diagnose says why leaf did not chain: out of its validity at the only
// clock there is (no log: now), or issued by no CA of the trusted root.
func (c *CertVerifier) diagnose(leaf *x509.Certificate) string {
	validity := fmt.Sprintf("valid %s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	if !c.policy.Tlog {
		if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			return fmt.Sprintf("certificate %s is not valid now, and without a transparency log the current time is the only clock it is checked at (expired: re-sign, or verify with the log)", validity)
		}
	}
	// Within its own validity, does any trusted CA certify it?
	for _, ca := range c.policy.Trusted.FulcioCertificateAuthorities() {
		if _, err := ca.Verify(leaf, leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore)/2)); err == nil {
			return fmt.Sprintf("certificate %s, issued by %q, chains to a trusted CA only outside the time the signature was observed", validity, leaf.Issuer)
		}
	}
	return fmt.Sprintf("certificate issued by %q does not chain to any CA of the trusted root (a certificate from another CA, or the wrong --trusted-root)", leaf.Issuer)
}

// TrustedRoot returns the trusted root in the file at path, or Sigstore's public-good
// root (over TUF, network needed) when path is empty: the choice every keyless verifier
// makes.
func TrustedRoot(path string) (root.TrustedMaterial, error) {
	if path == "" {
		return PublicGoodTrustedRoot()
	}
	tr, err := LoadTrustedRoot(path)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return tr, nil
}

// LoadTrustedRoot reads a Sigstore trusted root JSON (the format of
// `cosign verify-blob --trusted-root`): a private or test CA, or a pinned
// copy of the public-good root for offline verification.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a Sigstore trusted root: %w", path, err)
	}
	return tr, nil
}

// PublicGoodTrustedRoot is the public Sigstore instance's trusted root
// (Fulcio CAs, Rekor logs, CT logs, TSAs), fetched over TUF from cosign's
// embedded TUF root and cached where cosign caches it ($TUF_ROOT, default
// ~/.sigstore/root). It needs network access unless the cache is fresh.
func PublicGoodTrustedRoot() (root.TrustedMaterial, error) {
	tr, err := cosign.TrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("fetch the Sigstore public-good trusted root over TUF: %w (offline? pass --trusted-root FILE)", err)
	}
	return tr, nil
}

// predicateType reads the predicate type of an in-toto statement.
func predicateType(payload []byte) (string, error) {
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return "", fmt.Errorf("DSSE payload is not an in-toto statement: %w", err)
	}
	return st.PredicateType, nil
}
