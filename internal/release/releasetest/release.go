package releasetest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/refvals"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Commit is the source commit test releases claim.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Keys is a signing key with its public half on disk (cosign.pub).
type Keys struct {
	Public   string
	Signer   *sign.KeySigner
	Verifier *sign.KeyVerifier
}

type key struct {
	signer   *sign.KeySigner
	verifier *sign.KeyVerifier
	pubPEM   []byte
}

var (
	keysMu sync.Mutex
	keys   = map[string]*key{}
)

// KeyPair returns the test binary's key called name, made on first use,
// with its public key written into the calling test's temporary directory.
// The key is generated in memory rather than through cosign's encrypted
// key file: scrypt makes that take many seconds under -race, and the file
// format has its own tests (package sign, and the CLI end-to-end test).
func KeyPair(t testing.TB, name string) *Keys {
	t.Helper()
	keysMu.Lock()
	k, ok := keys[name]
	if !ok {
		var err error
		if k, err = newKey(); err != nil {
			keysMu.Unlock()
			t.Fatal(err)
		}
		keys[name] = k
	}
	keysMu.Unlock()
	pub := filepath.Join(t.TempDir(), name+".pub")
	if err := os.WriteFile(pub, k.pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Keys{Public: pub, Signer: k.signer, Verifier: k.verifier}
}

func newKey() (*key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	s, err := sign.NewKeySigner(sv)
	if err != nil {
		return nil, err
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, err
	}
	v, err := sign.LoadPublicKey(pubPEM)
	if err != nil {
		return nil, err
	}
	return &key{signer: s, verifier: v, pubPEM: pubPEM}, nil
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

// Confidential makes x86_64 of the dist tree at root a confidential target,
// as attest leaves one: the fixture firmware (disttest.AddFirmware) and
// x86_64/reference-values-confidential.json over the default image, for 1
// and 4 vCPUs of EPYC-v4 with SNPActive and the per-page TDX order.
func Confidential(t testing.TB, root string) {
	t.Helper()
	disttest.AddFirmware(t, root)
	tr, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	x86 := arch.MustParse("x86_64")
	if _, err := refvals.Write(tr, []refvals.Spec{{Arch: x86, Variant: "confidential", Kernel: disttest.BootImage(x86),
		Images: []string{"default"}, Matrix: refvals.Matrix{VCPUs: []int{1, 4}, SNPCPUTypes: []string{"EPYC-v4"},
			SNPGuestFeatures: []uint64{0x1}, TDXPageOrders: []string{"per-page"}}}}); err != nil {
		t.Fatal(err)
	}
}
