package sign

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// KeyVerifier checks signatures made by a cosign key pair.
type KeyVerifier struct {
	v signature.Verifier
}

// LoadPublicKey reads a cosign public key (cosign.pub, PKIX PEM).
func LoadPublicKey(publicPEM []byte) (*KeyVerifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicPEM)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w (want cosign.pub as written by `release keygen`)", err)
	}
	// The default verifier for the key type: ECDSA P-256 with SHA-256 for
	// cosign's keys, as cosign itself loads them.
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	return &KeyVerifier{v: v}, nil
}

// LoadPublicKeyFile reads the cosign public key at path.
func LoadPublicKeyFile(path string) (*KeyVerifier, error) {
	b, err := boundedio.ReadFileLimit(path, maxKeyBytes, "a key file")
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	v, err := LoadPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// checkOpts are cosign's options for a key without a transparency log: the
// same ones `cosign verify[-blob] --key cosign.pub --insecure-ignore-tlog`
// builds. An empty trusted root is enough because the key is the only
// trust anchor.
func (k *KeyVerifier) checkOpts() *cosign.CheckOpts {
	return &cosign.CheckOpts{
		SigVerifier:     k.v,
		IgnoreTlog:      true,
		IgnoreSCT:       true,
		NewBundleFormat: true,
		TrustedMaterial: &root.BaseTrustedMaterial{},
		ClaimVerifier:   cosign.SimpleClaimVerifier,
	}
}

// VerifyBlob checks a Sigstore bundle against the artifact's bytes.
func (k *KeyVerifier) VerifyBlob(ctx context.Context, bundleJSON []byte, artifact io.Reader) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	if _, err := cosign.VerifyNewBundle(ctx, k.checkOpts(), sgverify.WithArtifact(artifact), &b); err != nil {
		return fmt.Errorf("signature does not verify with this key: %w", err)
	}
	return nil
}

// VerifyImage checks that d carries at least one cosign signature (in its
// sha256-<hex>.sig tag) made by this key over a payload naming d.
func (k *KeyVerifier) VerifyImage(ctx context.Context, d name.Digest, opts ...remote.Option) error {
	co := k.checkOpts()
	co.NewBundleFormat = false
	co.RegistryClientOpts = []ociremote.Option{ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)}
	sigs, _, err := cosign.VerifyImageSignatures(ctx, d, co)
	if err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%s: no signature verified", d)
	}
	return nil
}
