package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/testenv"
)

const cliPassword = "e2e password, not a secret"

// run executes one freshly built command with args, capturing its output
// into the transcript every secret scan looks at.
func run(t *testing.T, transcript *bytes.Buffer, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	transcript.WriteString("$ " + cmd.Name() + " " + strings.Join(args, " ") + "\n" + out.String())
	if err != nil {
		transcript.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestReleaseCLIEndToEnd is the acceptance path on a synthetic dist tree:
// keygen, attest, sign, sha256sum -c, publish to a real registry, verify
// the reference pulled back by digest, flip one byte and watch verify name
// the artifact; then look for the private key anywhere it must not be.
func TestReleaseCLIEndToEnd(t *testing.T) {
	reg := releasetest.StartRegistry(t)
	sha256sum := testenv.RequireTool(t, "sha256sum")
	t.Setenv("COSIGN_PASSWORD", cliPassword)
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials from the host
	var transcript bytes.Buffer

	keys := t.TempDir()
	if _, err := run(t, &transcript, newKeygenCmd(), "--output-dir", keys); err != nil {
		t.Fatal(err)
	}
	key, pub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")

	dist := disttest.Build(t, t.TempDir())
	// The image definitions without their package locks: the synthetic initrds hold a
	// handful of packages, and an SBOM is only made from a lock the image answers.
	images := filepath.Join(t.TempDir(), "images")
	if err := os.CopyFS(images, os.DirFS("../../images")); err != nil {
		t.Fatal(err)
	}
	locks, _ := filepath.Glob(filepath.Join(images, "*.lock"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := run(t, &transcript, newAttestCmd(), dist, "--manifest", pinnedYAML, "--images", images,
		"--commit", releasetest.Commit, "--builder", "kernel=sha256:"+strings.Repeat("1f", 32)); err != nil {
		t.Fatalf("attest: %v\n%s", err, out)
	}
	if out, err := run(t, &transcript, newSignCmd(), dist, "--key", key); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	c := exec.Command(sha256sum, "-c", "--strict", "SHA256SUMS")
	c.Dir = dist
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c SHA256SUMS in dist: %v\n%s", err, out)
	}

	to := reg.Host + "/guestforge/guest-images"
	out, err := run(t, &transcript, newPublishCmd(), dist, "--to", to, "--key", key)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	var index string
	for _, line := range strings.Split(out, "\n") {
		if d, ok := strings.CutPrefix(line, "index\t"); ok {
			index = d
		}
	}
	if !strings.Contains(index, "@sha256:") {
		t.Fatalf("publish printed no index digest:\n%s", out)
	}
	pulled := t.TempDir()
	if out, err := run(t, &transcript, newVerifyCmd(), index, "--key", pub, "--no-boot", "--out", pulled); err != nil {
		t.Fatalf("verify %s: %v\n%s", index, err, out)
	}

	// One byte of one artifact, in the dist tree: verify names it and exits 1.
	releasetest.FlipByte(t, filepath.Join(dist, "aarch64", "rootfs-default.img"))
	out, err = run(t, &transcript, newVerifyCmd(), dist, "--key", pub, "--no-boot")
	if exitCode(err) != exitViolation || !strings.Contains(err.Error(), "aarch64/rootfs-default.img") {
		t.Fatalf("verify after a flipped byte: exit %d, %v\n%s", exitCode(err), err, out)
	}
	// Bad input is exit 2, not 1.
	if _, err := run(t, &transcript, newVerifyCmd(), dist, "--key", filepath.Join(keys, "missing.pub")); exitCode(err) != exitBadInput {
		t.Fatalf("verify with a missing key file: exit %d (%v), want 2", exitCode(err), err)
	}
	// A key inside the tree is refused before anything is signed.
	inside := filepath.Join(dist, "x86_64", "cosign.key")
	os.WriteFile(inside, []byte("x"), 0o600)
	if _, err := run(t, &transcript, newSignCmd(), dist, "--key", inside); err == nil || !strings.Contains(err.Error(), "inside") {
		t.Fatalf("signing with a key inside dist: %v", err)
	}
	os.Remove(inside)

	assertNoKeyMaterial(t, key, map[string]string{
		"dist":             dist,
		"pulled":           pulled,
		"registry storage": reg.Data,
		"registry log":     reg.Log,
	}, transcript.Bytes())
}

// assertNoKeyMaterial looks for the private key in every file under the
// given roots and in the command transcript: the encrypted PEM body, the
// decrypted PKCS#8 key and its private scalar, raw and in hex and base64.
func assertNoKeyMaterial(t *testing.T, keyPath string, roots map[string]string, transcript []byte) {
	t.Helper()
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	der, err := encrypted.Decrypt(block.Bytes, []byte(cliPassword))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parsed.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	needles := map[string][]byte{
		"encrypted key PEM body":     []byte(strings.TrimSpace(strings.Split(string(keyPEM), "\n")[1])),
		"encrypted key (raw)":        block.Bytes[:64],
		"PKCS#8 key (raw)":           der,
		"PKCS#8 key (base64)":        []byte(base64.StdEncoding.EncodeToString(der)[:64]),
		"PKCS#8 key (hex)":           []byte(hex.EncodeToString(der)[:64]),
		"private scalar (raw)":       d,
		"private scalar (hex)":       []byte(hex.EncodeToString(d)),
		"private scalar (base64)":    []byte(base64.StdEncoding.EncodeToString(d)),
		"private scalar (base64url)": []byte(base64.RawURLEncoding.EncodeToString(d)),
		"password":                   []byte(cliPassword),
	}
	// The needles must be findable where they are: the PEM body in the key
	// file, the scalar in the PKCS#8 encoding. Otherwise the scan proves nothing.
	if !bytes.Contains(keyPEM, needles["encrypted key PEM body"]) || !bytes.Contains(der, d) || len(needles["encrypted key PEM body"]) < 40 {
		t.Fatal("the key material needles do not match the key itself")
	}
	scan := func(where string, data []byte) {
		for what, n := range needles {
			if bytes.Contains(data, n) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
	scan("the command transcript", transcript)
	files := 0
	for label, root := range roots {
		err := filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			scan(label+": "+p, b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("scanned only %d files: the scan is not looking where the release went", files)
	}
	t.Logf("no key material in %d files and a %d-byte transcript", files, len(transcript))
}
