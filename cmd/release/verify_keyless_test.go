package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

// TestVerifyKeylessCLI: `release verify DIR` with cosign's keyless flags on
// a tree signed by a test CA's certificate for the release workflow.
func TestVerifyKeylessCLI(t *testing.T) {
	ca := releasetest.NewCA(t, "test-fulcio")
	tr := releasetest.Attest(t, disttest.Build(t, t.TempDir()))
	if _, err := sign.Tree(context.Background(), tr, ca.Signer(t, releasetest.ActionsLeaf()), nil); err != nil {
		t.Fatal(err)
	}
	rootJSON := releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca})
	keyless := func(identity string, extra ...string) []string {
		return append([]string{tr.Root, "--no-boot", "--certificate-identity", identity,
			"--certificate-oidc-issuer", releasetest.ActionsIssuer, "--trusted-root", rootJSON}, extra...)
	}
	private := []string{"--insecure-ignore-tlog", "--insecure-ignore-sct"}
	fork := "https://github.com/x/y/.github/workflows/release.yaml@refs/heads/main"
	pub := releasetest.KeyPair(t, "main").Public

	type verifyCase struct {
		name string
		args []string
		code int
		want string
	}
	cases := []verifyCase{
		{"good", keyless(releasetest.ActionsIdentity, private...), 0, "verified " + tr.Root},
		{"regexp", []string{tr.Root, "--no-boot", "--certificate-identity-regexp", `^https://github\.com/guestforge/`,
			"--certificate-oidc-issuer", releasetest.ActionsIssuer, "--trusted-root", rootJSON, "--insecure-ignore-tlog", "--insecure-ignore-sct"}, 0, "checks passed"},
		{"wrong identity", keyless(fork, private...), 1,
			"signature check failed: SHA256SUMS.sigstore.json: certificate identity " + releasetest.ActionsIdentity + " does not match --certificate-identity " + fork},
		// Without --insecure-ignore-tlog a log entry is required, as with cosign.
		{"log required by default", keyless(releasetest.ActionsIdentity, "--insecure-ignore-sct"), 1,
			"SHA256SUMS.sigstore.json: the bundle has no transparency log entry, and the policy requires one"},
		{"key and keyless", append(keyless(releasetest.ActionsIdentity, private...), "--key", pub), 2, "exclude each other"},
		{"no issuer", []string{tr.Root, "--no-boot", "--certificate-identity", releasetest.ActionsIdentity, "--trusted-root", rootJSON}, 2,
			"--certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) is required"},
		{"nothing to verify with", []string{tr.Root, "--no-boot"}, 2, "--key cosign.pub, or keyless with --certificate-identity"},
		{"bad trusted root", []string{tr.Root, "--no-boot", "--certificate-identity", releasetest.ActionsIdentity,
			"--certificate-oidc-issuer", releasetest.ActionsIssuer, "--trusted-root", pub}, 2, pub + ": not a Sigstore trusted root"},
	}
	// A tree whose bundles carry log entries verifies with the log required
	// (cosign's default), against a trusted root naming the CA and the log.
	log := releasetest.NewRekor(t)
	logged := releasetest.Attest(t, disttest.Build(t, t.TempDir()))
	if _, err := sign.Tree(context.Background(), logged, ca.Signer(t, releasetest.ActionsLeaf(), log), nil); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, verifyCase{"log present and required", []string{logged.Root, "--no-boot", "--certificate-identity", releasetest.ActionsIdentity,
		"--certificate-oidc-issuer", releasetest.ActionsIssuer, "--insecure-ignore-sct",
		"--trusted-root", releasetest.WriteTrustedRoot(t, []*releasetest.CA{ca}, log.Log)}, 0, "verified " + logged.Root})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var transcript bytes.Buffer
			out, err := run(t, &transcript, newVerifyCmd(), c.args...)
			msg := out
			if err != nil {
				msg += err.Error()
			}
			if got := exitCode(err); got != c.code || !strings.Contains(msg, c.want) {
				t.Fatalf("release verify %s: exit %d, want %d; output:\n%s\nwant it to contain %q", strings.Join(c.args, " "), got, c.code, msg, c.want)
			}
		})
	}
}
