package sign

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	signatureoptions "github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// BlobSigner produces a Sigstore bundle (JSON) for the bytes read from r.
type BlobSigner interface {
	SignBlob(ctx context.Context, r io.Reader) ([]byte, error)
}

// ImageSigner attaches a signature to a manifest in a registry, where
// `cosign verify` looks for it.
type ImageSigner interface {
	SignImage(ctx context.Context, d name.Digest, opts ...remote.Option) error
}

// KeySigner signs with a cosign private key, offline.
type KeySigner struct {
	sv   signature.SignerVerifier
	hint string
}

// LoadKey decrypts a cosign private key (cosign.key) with password.
func LoadKey(privatePEM, password []byte) (*KeySigner, error) {
	// An empty option list keeps cosign's classic choices (ECDSA P-256 with
	// SHA-256, no ed25519ph), the ones `cosign sign-blob --key` makes when
	// nothing is uploaded to a transparency log.
	sv, err := cosign.LoadPrivateKey(privatePEM, password, &[]signature.LoadOption{})
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w (wrong %s, or not a cosign key?)", err, PasswordEnv)
	}
	return NewKeySigner(sv)
}

// NewKeySigner signs with any sigstore signer: a decrypted cosign key, or
// one held by a KMS or a hardware token.
func NewKeySigner(sv signature.SignerVerifier) (*KeySigner, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	hint, err := keyHint(pub)
	if err != nil {
		return nil, err
	}
	return &KeySigner{sv: sv, hint: hint}, nil
}

// maxKeyBytes bounds a cosign key file, a PEM block of a few hundred bytes.
const maxKeyBytes = 64 * boundedio.KiB

// LoadKeyFile reads and decrypts the cosign private key at path.
func LoadKeyFile(path string, password []byte) (*KeySigner, error) {
	b, err := boundedio.ReadFileLimit(path, maxKeyBytes, "a key file")
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	s, err := LoadKey(b, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// keyHint is how cosign names a public key in a bundle: base64 of the
// SHA-256 of its PKIX encoding.
func keyHint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// PublicKey returns the key's public half.
func (s *KeySigner) PublicKey() (crypto.PublicKey, error) { return s.sv.PublicKey() }

// SignBlob signs the bytes of r and returns a Sigstore bundle (v0.3, message
// signature, public key hint, no transparency log entry): exactly what
// `cosign sign-blob --key cosign.key --new-bundle-format --tlog-upload=false`
// writes. The input is hashed as it streams, so image files of any size are
// never held in memory.
func (s *KeySigner) SignBlob(ctx context.Context, r io.Reader) ([]byte, error) {
	h := sha256.New()
	sig, err := s.sv.SignMessage(io.TeeReader(r, h), signatureoptions.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b, err := cbundle.MakeProtobufBundle(s.hint, nil, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("make bundle: %w", err)
	}
	b.Content = &protobundle.Bundle_MessageSignature{
		MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: h.Sum(nil)},
			Signature:     sig,
		},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return out, nil
}
