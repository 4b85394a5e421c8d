package releasetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/guestforge/guestforge/internal/release/sign"
)

// The OIDs Fulcio puts the token's issuer under: 1.8 (a DER UTF8String)
// and the deprecated 1.1 (raw bytes), which older verifiers read.
var (
	oidIssuerV2     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidIssuerLegacy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
)

// GitHub Actions' identity and issuer, as a release workflow's certificate
// carries them.
const (
	ActionsIdentity = "https://github.com/guestforge/guestforge/.github/workflows/release.yaml@refs/heads/main"
	ActionsIssuer   = "https://token.actions.githubusercontent.com"
)

// CA is a Fulcio-shaped certificate authority made for one test binary: an
// ECDSA P-256 root, an intermediate under it, and code-signing leaf
// certificates for an OIDC identity, all with real keys.
type CA struct {
	Name         string
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	interKey     *ecdsa.PrivateKey
}

// NewCA makes a root and an intermediate valid from a day ago for a year.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{Organization: []string{name}, CommonName: name + " root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootCert := mustCert(t, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	interTmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{Organization: []string{name}, CommonName: name + " intermediate"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	inter := mustCert(t, interTmpl, rootCert, &interKey.PublicKey, rootKey)
	return &CA{Name: name, Root: rootCert, Intermediate: inter, interKey: interKey}
}

// Leaf is what a leaf certificate says: the SAN URI identity, the OIDC
// issuer (in both issuer extensions; empty leaves them out) and its validity
// (zero: from a minute ago for an hour).
type Leaf struct {
	Identity, Issuer    string
	NotBefore, NotAfter time.Time
}

// ActionsLeaf is the certificate of the release workflow on main.
func ActionsLeaf() Leaf { return Leaf{Identity: ActionsIdentity, Issuer: ActionsIssuer} }

// Issue certifies pub for l, signed by the intermediate.
func (ca *CA) Issue(pub any, l Leaf) ([]byte, error) {
	u, err := url.Parse(l.Identity)
	if err != nil {
		return nil, fmt.Errorf("identity %q: %w", l.Identity, err)
	}
	if l.NotBefore.IsZero() {
		l.NotBefore = time.Now().Add(-time.Minute)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = l.NotBefore.Add(time.Hour)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, NotBefore: l.NotBefore, NotAfter: l.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs: []*url.URL{u},
	}
	if l.Issuer != "" {
		v2, err := asn1.MarshalWithParams(l.Issuer, "utf8")
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidIssuerV2, Value: v2}, {Id: oidIssuerLegacy, Value: []byte(l.Issuer)}}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.Intermediate, pub, ca.interKey)
}

// provider issues a certificate for the signing key, as Fulcio does for an
// OIDC token.
type provider struct {
	ca   *CA
	leaf Leaf
}

func (p provider) GetCertificate(_ context.Context, kp sgsign.Keypair, _ *sgsign.CertificateProviderOptions) ([]byte, error) {
	return p.ca.Issue(kp.GetPublicKey(), p.leaf)
}

// Signer signs keyless with an ephemeral key and a certificate from ca for
// l, and the transparency logs given (none: no log entry), through the
// same sign.Keyless code the release uses with Fulcio.
func (ca *CA) Signer(t testing.TB, l Leaf, logs ...sgsign.Transparency) *sign.Keyless {
	t.Helper()
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewCertSigner(kp, sgsign.BundleOptions{CertificateProvider: provider{ca, l}, TransparencyLogs: logs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authority is ca as a trusted root names it.
func (ca *CA) authority() *root.FulcioCertificateAuthority {
	return &root.FulcioCertificateAuthority{
		Root: ca.Root, Intermediates: []*x509.Certificate{ca.Intermediate},
		ValidityPeriodStart: ca.Root.NotBefore, URI: "https://" + ca.Name + ".invalid",
	}
}

// TrustedRoot is a Sigstore trusted root naming the given CAs and
// transparency logs (keyed by hex log ID), and no CT log or TSA.
func TrustedRoot(t testing.TB, cas []*CA, logs ...*root.TransparencyLog) *root.TrustedRoot {
	t.Helper()
	var auths []root.CertificateAuthority
	for _, ca := range cas {
		auths = append(auths, ca.authority())
	}
	tlogs := map[string]*root.TransparencyLog{}
	for _, l := range logs {
		tlogs[fmt.Sprintf("%x", l.ID)] = l
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, auths, nil, nil, tlogs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// WriteTrustedRoot writes TrustedRoot(cas, logs) as the JSON file
// `--trusted-root` takes, and returns its path.
func WriteTrustedRoot(t testing.TB, cas []*CA, logs ...*root.TransparencyLog) string {
	t.Helper()
	b, err := TrustedRoot(t, cas, logs...).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
