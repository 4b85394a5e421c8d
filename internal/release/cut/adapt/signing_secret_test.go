package adapt

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/sign"
)

// The ci/ module hands the key and its password over as Dagger secrets: they
// sign from memory, with no key file and no $COSIGN_PASSWORD.
func TestSigningWithAKeyInMemory(t *testing.T) {
	t.Setenv(sign.PasswordEnv, "not the password: the in-memory one must be used")
	priv, pub, err := sign.GenerateKeyPair([]byte("secret-password"))
	if err != nil {
		t.Fatal(err)
	}
	r := release(t, "x86_64")
	s := &Signing{KeyPEM: priv, Password: []byte("secret-password")}
	lines, err := s.Describe(context.Background(), r)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "key from a secret") {
		t.Fatalf("describe: %v %v", lines, err)
	}
	signer, err := s.load(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := signer.SignBlob(context.Background(), strings.NewReader("SHA256SUMS content"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sign.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyBlob(context.Background(), bundle, bytes.NewReader([]byte("SHA256SUMS content"))); err != nil {
		t.Errorf("the bundle does not verify against the key pair's public key: %v", err)
	}

	for name, bad := range map[string]*Signing{
		"wrong password":  {KeyPEM: priv, Password: []byte("nope")},
		"file and memory": {KeyPEM: priv, Key: "/etc/cosign.key"},
		"key and keyless": {KeyPEM: priv, Keyless: true},
	} {
		if _, err := bad.Describe(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
