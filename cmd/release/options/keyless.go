package options

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	"github.com/guestforge/guestforge/internal/release/sign"
)

// KeylessVerifyOptions are cosign's keyless verification flags, with cosign's
// names and defaults, so the commands the notes print read the same here.
type KeylessVerifyOptions struct {
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	TrustedRoot              string
	IgnoreTlog, IgnoreSCT    bool
}

var keylessFlagNames = []string{"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer",
	"certificate-oidc-issuer-regexp", "trusted-root", "insecure-ignore-tlog", "insecure-ignore-sct"}

// AddFlags adds the keyless flags.
func (k *KeylessVerifyOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&k.Identity, "certificate-identity", "", "keyless: the identity the signing certificates must carry (the workflow URL, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yaml@refs/heads/main)")
	f.StringVar(&k.IdentityRegexp, "certificate-identity-regexp", "", "keyless: a Go regular expression instead of --certificate-identity")
	f.StringVar(&k.Issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer the certificates must name (GitHub Actions: "+adapt.GitHubIssuer+")")
	f.StringVar(&k.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a Go regular expression instead of --certificate-oidc-issuer")
	f.StringVar(&k.TrustedRoot, "trusted-root", "", "keyless: Sigstore trusted root JSON (default: the public-good root, fetched over TUF)")
	f.BoolVar(&k.IgnoreTlog, "insecure-ignore-tlog", false, "keyless: do not require a transparency log entry (a private CA without Rekor); certificates are then checked at the current time")
	f.BoolVar(&k.IgnoreSCT, "insecure-ignore-sct", false, "keyless: do not require an embedded SCT (a private CA without a CT log)")
}

// Set reports whether any keyless flag was given.
func (k *KeylessVerifyOptions) Set(f *pflag.FlagSet) bool {
	for _, n := range keylessFlagNames {
		if f.Changed(n) {
			return true
		}
	}
	return false
}

// Verifier builds the keyless policy the flags describe.
func (k *KeylessVerifyOptions) Verifier() (*sign.CertVerifier, error) {
	if k.Identity == "" && k.IdentityRegexp == "" {
		return nil, errors.New("--certificate-identity (or --certificate-identity-regexp) is required for a keyless release")
	}
	if k.Issuer == "" && k.IssuerRegexp == "" {
		return nil, errors.New("--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) is required for a keyless release")
	}
	trusted, err := sign.TrustedRoot(k.TrustedRoot)
	if err != nil {
		return nil, err
	}
	return sign.NewCertVerifier(sign.CertPolicy{
		Identity: k.Identity, IdentityRegexp: k.IdentityRegexp,
		Issuer: k.Issuer, IssuerRegexp: k.IssuerRegexp,
		Trusted: trusted, Tlog: !k.IgnoreTlog, SCT: !k.IgnoreSCT,
	})
}
