package sign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/guestforge/guestforge/internal/boundedio"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/providers"
	// GitHub Actions is the one place keyless signing is meant to run; the
	// other providers would pull in cloud SDKs for nothing.
	_ "github.com/sigstore/cosign/v2/pkg/providers/github"
	"github.com/sigstore/cosign/v2/pkg/types"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// Keyless signs with an ephemeral key certified by Fulcio for the workflow's
// OIDC identity, and records every signature in Rekor: cosign's keyless
// flow, through the public Sigstore instance's signing config (TUF). It
// needs network access to Sigstore and an OIDC token (GitHub Actions with
// `permissions: id-token: write`). Bundles it writes carry the certificate
// and the Rekor entry, so verifying them needs an identity, not a key.
type Keyless struct {
	// bundle signs content and returns the bundle's JSON: through the
	// public Sigstore instance (NewKeyless) or a given certificate
	// provider (NewCertSigner).
	bundle func(ctx context.Context, c sgsign.Content) ([]byte, error)
}

// NewKeyless prepares keyless signing. It fails, without signing anything,
// when no OIDC provider is available or Sigstore's TUF metadata cannot be
// fetched.
func NewKeyless(ctx context.Context) (*Keyless, error) {
	if !providers.Enabled(ctx) {
		return nil, errors.New("keyless signing needs an OIDC token: run in GitHub Actions with `permissions: id-token: write`, or sign with --key")
	}
	tok, err := providers.Provide(ctx, "sigstore")
	if err != nil {
		return nil, fmt.Errorf("get OIDC token for Fulcio: %w", err)
	}
	cfg, err := cosign.SigningConfig()
	if err != nil {
		return nil, fmt.Errorf("fetch Sigstore signing config (TUF): %w", err)
	}
	trusted, err := cosign.TrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("fetch Sigstore trusted root (TUF): %w", err)
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("ephemeral key: %w", err)
	}
	return &Keyless{bundle: func(ctx context.Context, c sgsign.Content) ([]byte, error) {
		return cbundle.SignData(ctx, c, kp, tok, cfg, trusted)
	}}, nil
}

// NewCertSigner signs like Keyless, with a certificate for kp from any
// certificate provider (a private CA, or a test CA) and the transparency
// logs in opts, if any. opts.Context is set per call.
func NewCertSigner(kp sgsign.Keypair, opts sgsign.BundleOptions) (*Keyless, error) {
	if kp == nil || opts.CertificateProvider == nil {
		return nil, errors.New("certificate signer: a key pair and a certificate provider are required")
	}
	return &Keyless{bundle: func(ctx context.Context, c sgsign.Content) ([]byte, error) {
		o := opts
		o.Context = ctx
		b, err := sgsign.Bundle(c, kp, o)
		if err != nil {
			return nil, err
		}
		return protojson.Marshal(b)
	}}, nil
}

// maxKeylessBlobBytes bounds what SignBlob holds in memory: sigstore-go signs
// content held in memory, and the largest release artifact (a rootfs image) is
// a few hundred MiB. A variable so a test can lower it.
var maxKeylessBlobBytes int64 = 4 * boundedio.GiB

// SignBlob signs the bytes of r. sigstore-go signs content held in memory,
// so the whole input is read first, up to maxKeylessBlobBytes.
func (k *Keyless) SignBlob(ctx context.Context, r io.Reader) ([]byte, error) {
	name := "the input"
	if f, ok := r.(interface{ Name() string }); ok {
		name = f.Name()
	}
	data, err := boundedio.ReadAllLimit(r, maxKeylessBlobBytes, name, "an artifact to sign keyless (held in memory)")
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	b, err := k.bundle(ctx, &sgsign.PlainData{Data: data})
	if err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	return b, nil
}

// SignImage attaches a keyless signature bundle to d through the referrers
// API, as `cosign sign --new-bundle-format` does; verify it with
// `cosign verify --new-bundle-format --certificate-identity ... d`.
func (k *Keyless) SignImage(ctx context.Context, d name.Digest, opts ...remote.Option) error {
	alg, hex, _ := strings.Cut(d.DigestStr(), ":")
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Digest: map[string]string{alg: hex}}},
		PredicateType: types.CosignSignPredicateType,
	}
	payload, err := protojson.Marshal(st)
	if err != nil {
		return fmt.Errorf("statement for %s: %w", d, err)
	}
	b, err := k.bundle(ctx, &sgsign.DSSEData{Data: payload, PayloadType: "application/vnd.in-toto+json"})
	if err != nil {
		return fmt.Errorf("keyless sign %s: %w", d, err)
	}
	ro := ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	if err := ociremote.WriteAttestationNewBundleFormat(d, b, types.CosignSignPredicateType, ro); err != nil {
		return fmt.Errorf("push signature of %s: %w", d, err)
	}
	return nil
}
