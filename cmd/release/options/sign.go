package options

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/internal/release/sign"
)

// Signer is what signs a release: SHA256SUMS and its files (bundles) and the
// published manifests.
type Signer interface {
	sign.BlobSigner
	sign.ImageSigner
}

// SignOptions pick the signer: a cosign key file or keyless.
type SignOptions struct {
	Key     string
	Keyless bool
}

// AddFlags adds --key and --keyless.
func (o *SignOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Key, "key", "", "cosign private key (password in $COSIGN_PASSWORD)")
	f.BoolVar(&o.Keyless, "keyless", false, "sign keyless (Fulcio + Rekor, OIDC token from GitHub Actions) instead of with --key")
}

// Signer loads the key (refusing one inside dir) or prepares keyless signing.
func (o *SignOptions) Signer(ctx context.Context, dir string) (Signer, error) {
	switch {
	case o.Keyless && o.Key != "":
		return nil, errors.New("--key and --keyless exclude each other")
	case o.Keyless:
		return sign.NewKeyless(ctx)
	case o.Key == "":
		return nil, errors.New("--key is required (or --keyless in GitHub Actions)")
	}
	if err := sign.CheckKeyOutside(o.Key, dir); err != nil {
		return nil, err
	}
	pw, err := sign.PasswordFromEnv()
	if err != nil {
		return nil, err
	}
	return sign.LoadKeyFile(o.Key, pw)
}
