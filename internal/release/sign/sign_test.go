package sign_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

const password = "correct horse battery staple"

func newKeyPair(t *testing.T) keyPair {
	t.Helper()
	dir := t.TempDir()
	priv, pub, err := sign.WriteKeyPair(dir, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{dir: dir, priv: priv, pub: pub}
}

type keyPair struct{ dir, priv, pub string }

func TestKeygen(t *testing.T) {
	kp := newKeyPair(t)
	privPEM, _ := os.ReadFile(kp.priv)
	if b, _ := pem.Decode(privPEM); b == nil || b.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Fatalf("private key is not a cosign encrypted key: %q", privPEM)
	}
	pubPEM, _ := os.ReadFile(kp.pub)
	if b, _ := pem.Decode(pubPEM); b == nil || b.Type != "PUBLIC KEY" {
		t.Fatalf("public key PEM type: %q", pubPEM)
	}
	if fi, _ := os.Stat(kp.priv); fi.Mode().Perm() != 0o600 {
		t.Errorf("cosign.key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := sign.LoadKeyFile(kp.priv, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("wrong password: %v", err)
	}
	if _, _, err := sign.WriteKeyPair(kp.dir, []byte(password)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second keygen into the same directory: %v", err)
	}
	if _, _, err := sign.GenerateKeyPair(nil); err == nil {
		t.Error("empty password accepted")
	}
	if err := sign.CheckKeyOutside(filepath.Join(kp.dir, "x", "cosign.key"), kp.dir); err == nil {
		t.Error("a key inside the signed directory was accepted")
	}
	if err := sign.CheckKeyOutside(kp.priv, filepath.Join(kp.dir, "dist")); err != nil {
		t.Errorf("a key beside dist/: %v", err)
	}
}

func TestBlobRoundTripAndFailures(t *testing.T) {
	ctx := context.Background()
	kp := releasetest.KeyPair(t, "main")
	data := disttest.Bytes("blob", 100<<10)
	bundle, err := kp.Signer.SignBlob(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		MediaType            string
		VerificationMaterial struct {
			PublicKey   struct{ Hint string }
			TlogEntries []any
		}
		MessageSignature struct {
			MessageDigest struct{ Algorithm, Digest string }
			Signature     string
		}
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if b.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" ||
		b.MessageSignature.MessageDigest.Algorithm != "SHA2_256" ||
		b.MessageSignature.MessageDigest.Digest != base64.StdEncoding.EncodeToString(sum[:]) ||
		b.VerificationMaterial.PublicKey.Hint == "" || len(b.VerificationMaterial.TlogEntries) != 0 {
		t.Fatalf("unexpected bundle: %s", bundle)
	}
	if err := kp.Verifier.VerifyBlob(ctx, bundle, bytes.NewReader(data)); err != nil {
		t.Fatalf("own signature does not verify: %v", err)
	}
	tampered := bytes.Clone(data)
	tampered[4096] ^= 1
	if err := kp.Verifier.VerifyBlob(ctx, bundle, bytes.NewReader(tampered)); err == nil {
		t.Fatal("a tampered blob verified")
	}
	other := releasetest.KeyPair(t, "other")
	if err := other.Verifier.VerifyBlob(ctx, bundle, bytes.NewReader(data)); err == nil {
		t.Fatal("another key verified the signature")
	}
}

func signedTree(t *testing.T, kp *releasetest.Keys) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(disttest.Build(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sums.Write(tr); err != nil {
		t.Fatal(err)
	}
	tr, _ = dist.Open(tr.Root)
	if _, err := sign.Tree(context.Background(), tr, kp.Signer, nil); err != nil {
		t.Fatal(err)
	}
	tr, _ = dist.Open(tr.Root)
	return tr
}

func TestTree(t *testing.T) {
	ctx := context.Background()
	kp := releasetest.KeyPair(t, "main")
	tr := signedTree(t, kp)
	entries, _ := sums.ReadFile(tr.Path(dist.SumsFile))
	if got, want := len(tr.Bundles()), len(entries)+1; got != want {
		t.Fatalf("%d bundles, want %d (every summed file and SHA256SUMS)", got, want)
	}
	for _, rel := range append([]string{dist.SumsFile}, tr.Summed()...) {
		if err := sign.VerifyFile(ctx, kp.Verifier, tr, rel); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	// Missing signature: named.
	os.Remove(tr.Path("x86_64/config-6.12.117-3f2a9c1d" + dist.BundleSuffix))
	err := sign.VerifyFile(ctx, kp.Verifier, tr, "x86_64/config-6.12.117-3f2a9c1d")
	if err == nil || !strings.Contains(err.Error(), "x86_64/config-6.12.117-3f2a9c1d: missing signature") {
		t.Fatalf("missing bundle: %v", err)
	}
	// A file changed after SHA256SUMS is never signed.
	os.WriteFile(tr.Path("x86_64/root_hash.txt"), []byte("changed\n"), 0o644)
	tr, _ = dist.Open(tr.Root)
	if _, err := sign.Tree(ctx, tr, kp.Signer, nil); err == nil || !strings.Contains(err.Error(), "refusing to sign: x86_64/root_hash.txt") {
		t.Fatalf("signing a modified tree: %v", err)
	}
}

func TestStaleBundlesAreRemoved(t *testing.T) {
	kp := releasetest.KeyPair(t, "main")
	tr := signedTree(t, kp)
	stale := tr.Path("aarch64/gone.img" + dist.BundleSuffix)
	os.WriteFile(stale, []byte("{}"), 0o644)
	tr, _ = dist.Open(tr.Root)
	if _, err := sign.Tree(context.Background(), tr, kp.Signer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale bundle kept: %v", err)
	}
}

// TestUpstreamCosignVerifiesOurBundles runs the pinned cosign CLI (v2.6.5)
// over what we wrote: each bundle with our public key, offline. And the
// other way round: a bundle cosign sign-blob wrote verifies with us.
func TestUpstreamCosignVerifiesOurBundles(t *testing.T) {
	ctx := context.Background()
	releasetest.Tool(t, "cosign")
	kp := releasetest.KeyPair(t, "main")
	tr := signedTree(t, kp)
	root := releasetest.EmptyTrustedRoot(t)
	verify := func(pub, rel string) (string, error) {
		return releasetest.Cosign(t, nil, "verify-blob", "--key", pub, "--bundle", tr.Path(rel+dist.BundleSuffix),
			"--insecure-ignore-tlog=true", "--trusted-root", root, tr.Path(rel))
	}
	for _, rel := range []string{dist.SumsFile, "x86_64/initrd-default.img", "aarch64/rootfs-default.img"} {
		out, err := verify(kp.Public, rel)
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Fatalf("cosign verify-blob %s: %v\n%s", rel, err, out)
		}
	}
	// cosign also refuses what we must refuse.
	other := releasetest.KeyPair(t, "other")
	if out, err := verify(other.Public, dist.SumsFile); err == nil || !strings.Contains(out, "invalid signature") {
		t.Fatalf("cosign with another key: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(tr.Path("x86_64/vmlinuz-6.12.117-3f2a9c1d"))
	b[0] ^= 1
	os.WriteFile(tr.Path("x86_64/vmlinuz-6.12.117-3f2a9c1d"), b, 0o644)
	if out, err := verify(kp.Public, "x86_64/vmlinuz-6.12.117-3f2a9c1d"); err == nil || !strings.Contains(out, "invalid signature") {
		t.Fatalf("cosign on a tampered artifact: %v\n%s", err, out)
	}

	// Interop the other way: upstream's sign-blob with a key file from our keygen.
	enc := newKeyPair(t)
	encVerifier, err := sign.LoadPublicKeyFile(enc.pub)
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(blob, []byte("signed by upstream cosign\n"), 0o644)
	bundlePath := blob + dist.BundleSuffix
	out, err := releasetest.Cosign(t, []string{"COSIGN_PASSWORD=" + password}, "sign-blob", "--yes", "--key", enc.priv,
		"--new-bundle-format", "--tlog-upload=false", "--bundle", bundlePath, blob)
	if err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	theirs, _ := os.ReadFile(bundlePath)
	if err := encVerifier.VerifyBlob(ctx, theirs, bytes.NewReader([]byte("signed by upstream cosign\n"))); err != nil {
		t.Fatalf("we reject upstream cosign's bundle: %v\n%s", err, theirs)
	}
}

// TestKeylessNeedsAnOIDCToken: outside GitHub Actions (no token request
// variables) keyless signing stops before anything is signed, and says how
// to get a token.
func TestKeylessNeedsAnOIDCToken(t *testing.T) {
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
	_, err := sign.NewKeyless(context.Background())
	if err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("NewKeyless without a token: %v", err)
	}
}
