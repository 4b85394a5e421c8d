// Package sign signs release files and registry manifests with cosign used
// as a library: cosign-format key pairs, Sigstore bundles
// (<file>.sigstore.json) for blobs, and cosign's signature tags for OCI
// manifests, so the upstream cosign CLI verifies what we sign.
//
// The default is offline: a key pair, no transparency log, no Fulcio (both
// unreachable where our CI runs). Keyless signing (Fulcio certificate from
// an OIDC token, Rekor entry) is the Keyless signer, for GitHub Actions.
//
// The private key and its password only ever live in memory here: nothing
// in this package prints, logs or writes them, except keygen writing
// cosign.key (encrypted) where it is told to.
package sign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// File names `release keygen` writes, as cosign generate-key-pair does.
const (
	PrivateKeyFile = "cosign.key"
	PublicKeyFile  = "cosign.pub"
	// PasswordEnv is the variable cosign itself reads the key password from.
	PasswordEnv = "COSIGN_PASSWORD"
)

// PasswordFromEnv returns the key password from COSIGN_PASSWORD. The variable
// must be set (possibly empty, for keys made with an empty password): we
// never prompt, because releases run unattended.
func PasswordFromEnv() ([]byte, error) {
	v, ok := os.LookupEnv(PasswordEnv)
	if !ok {
		return nil, fmt.Errorf("%s is not set: export the signing key's password (in CI, from a secret)", PasswordEnv)
	}
	return []byte(v), nil
}

// GenerateKeyPair makes an ECDSA P-256 key pair in cosign's format: the
// private key scrypt+secretbox encrypted under password ("ENCRYPTED SIGSTORE
// PRIVATE KEY" PEM) and the public key as PKIX PEM.
func GenerateKeyPair(password []byte) (privatePEM, publicPEM []byte, err error) {
	if len(password) == 0 {
		return nil, nil, fmt.Errorf("refusing an empty key password: set %s to a real password (an empty one leaves the key effectively unencrypted)", PasswordEnv)
	}
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, nil, fmt.Errorf("generate key pair: %w", err)
	}
	return kb.PrivateBytes, kb.PublicBytes, nil
}

// WriteKeyPair generates a key pair into dir as cosign.key (mode 0600) and
// cosign.pub. It never overwrites: replacing a release key is a decision,
// not a side effect.
func WriteKeyPair(dir string, password []byte) (privPath, pubPath string, err error) {
	privPath = filepath.Join(dir, PrivateKeyFile)
	pubPath = filepath.Join(dir, PublicKeyFile)
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists: move it away first if you really mean to replace the release key", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("check %s: %w", p, err)
		}
	}
	priv, pub, err := GenerateKeyPair(password)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create key directory: %w", err)
	}
	// O_EXCL: if something appeared since the check, fail rather than clobber.
	f, err := os.OpenFile(privPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		os.Remove(privPath)
		return "", "", fmt.Errorf("write private key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(privPath)
		return "", "", fmt.Errorf("write private key: %w", err)
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return "", "", fmt.Errorf("write public key: %w", err)
	}
	return privPath, pubPath, nil
}

// CheckKeyOutside refuses a private key stored inside the directory about to
// be signed or published: whatever is in dist/ ships.
func CheckKeyOutside(keyPath, dir string) error {
	k, err := filepath.Abs(keyPath)
	if err != nil {
		return fmt.Errorf("resolve key path: %w", err)
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve directory: %w", err)
	}
	if k == d || strings.HasPrefix(k, d+string(filepath.Separator)) {
		return fmt.Errorf("the private key %s is inside %s, which is released as is: keep keys outside dist/", keyPath, dir)
	}
	return nil
}
