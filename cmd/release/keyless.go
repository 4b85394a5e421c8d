package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/sign"
)

// keylessFlags are cosign's keyless verification flags, with cosign's
// names and defaults, so the commands the notes print read the same here.
type keylessFlags struct {
	identity, identityRegexp string
	issuer, issuerRegexp     string
	trustedRoot              string
	ignoreTlog, ignoreSCT    bool
}

func (k *keylessFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.identity, "certificate-identity", "", "keyless: the identity the signing certificates must carry (the workflow URL, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yaml@refs/heads/main)")
	f.StringVar(&k.identityRegexp, "certificate-identity-regexp", "", "keyless: a Go regular expression instead of --certificate-identity")
	f.StringVar(&k.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer the certificates must name (GitHub Actions: "+githubIssuer+")")
	f.StringVar(&k.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a Go regular expression instead of --certificate-oidc-issuer")
	f.StringVar(&k.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root JSON (default: the public-good root, fetched over TUF)")
	f.BoolVar(&k.ignoreTlog, "insecure-ignore-tlog", false, "keyless: do not require a transparency log entry (a private CA without Rekor); certificates are then checked at the current time")
	f.BoolVar(&k.ignoreSCT, "insecure-ignore-sct", false, "keyless: do not require an embedded SCT (a private CA without a CT log)")
}

// set reports whether any keyless flag was given.
func (k *keylessFlags) set(cmd *cobra.Command) bool {
	for _, n := range []string{"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer",
		"certificate-oidc-issuer-regexp", "trusted-root", "insecure-ignore-tlog", "insecure-ignore-sct"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// verifier builds the keyless policy the flags describe.
func (k *keylessFlags) verifier() (*sign.CertVerifier, error) {
	if k.identity == "" && k.identityRegexp == "" {
		return nil, errors.New("--certificate-identity (or --certificate-identity-regexp) is required for a keyless release")
	}
	if k.issuer == "" && k.issuerRegexp == "" {
		return nil, errors.New("--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) is required for a keyless release")
	}
	trusted, err := sign.TrustedRoot(k.trustedRoot)
	if err != nil {
		return nil, err
	}
	return sign.NewCertVerifier(sign.CertPolicy{
		Identity: k.identity, IdentityRegexp: k.identityRegexp,
		Issuer: k.issuer, IssuerRegexp: k.issuerRegexp,
		Trusted: trusted, Tlog: !k.ignoreTlog, SCT: !k.ignoreSCT,
	})
}
