package releasetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Password protects the test keys.
const Password = "test password, not a secret"

// Commit is the source commit test releases claim.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Keys is a cosign key pair on disk with its loaded halves.
type Keys struct {
	Dir, Private, Public string
	Signer               *sign.KeySigner
	Verifier             *sign.KeyVerifier
}

var (
	keysMu sync.Mutex
	keys   = map[string]*Keys{}
)

// KeyPair returns the test binary's key pair called name, generating it on
// first use (scrypt makes keygen slow; tests share pairs). The files live in
// a temporary directory removed by Cleanup.
func KeyPair(t testing.TB, name string) *Keys {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	dir, err := os.MkdirTemp("", "guestforge-keys-")
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := sign.WriteKeyPair(dir, []byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadKeyFile(priv, []byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.LoadPublicKeyFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	k := &Keys{Dir: dir, Private: priv, Public: pub, Signer: s, Verifier: v}
	keys[name] = k
	return k
}

// Cleanup removes generated keys; call it from TestMain after m.Run.
func Cleanup() {
	keysMu.Lock()
	defer keysMu.Unlock()
	for _, k := range keys {
		os.RemoveAll(k.Dir)
	}
}

// Attest writes SBOMs, provenance and SHA256SUMS into the tree at root, as
// `release attest` does, and returns the reopened tree.
func Attest(t testing.TB, root string) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sbom.Write(tr, sbom.Options{Created: time.Unix(1767225600, 0)}); err != nil {
		t.Fatal(err)
	}
	in := provenance.Input{Commit: Commit, Repository: "https://github.com/guestforge/guestforge",
		ToolchainSHA256: strings.Repeat("ab", 32)}
	if _, err := provenance.Write(tr, in); err != nil {
		t.Fatal(err)
	}
	if tr, err = dist.Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := sums.Write(tr); err != nil {
		t.Fatal(err)
	}
	if tr, err = dist.Open(root); err != nil {
		t.Fatal(err)
	}
	return tr
}

// AttestAndSign attests the tree and signs it with k.
func AttestAndSign(t testing.TB, root string, k *Keys) *dist.Tree {
	t.Helper()
	tr := Attest(t, root)
	if _, err := sign.Tree(context.Background(), tr, k.Signer, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// FlipByte changes one bit in the middle of a file.
func FlipByte(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Files maps every file under root (slash paths) to its SHA-256.
func Files(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum, err := sums.File(p)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
