package sign

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Tree signs SHA256SUMS and every file it lists, writing <file>.sigstore.json
// next to each. It first checks every file against SHA256SUMS, so a file
// changed after the checksums were taken is never signed. Bundles of files
// no longer listed are removed: a stale signature in dist/ would ship.
// It returns the bundles written, tree-relative.
func Tree(ctx context.Context, t *dist.Tree, s BlobSigner, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !t.Has(dist.SumsFile) {
		return nil, fmt.Errorf("%s: missing: run `release attest` first, which writes it", t.Path(dist.SumsFile))
	}
	entries, err := sums.ReadFile(t.Path(dist.SumsFile))
	if err != nil {
		return nil, err
	}
	if err := sums.Verify(t.Root, entries); err != nil {
		return nil, fmt.Errorf("refusing to sign: %w", err)
	}
	targets := []string{dist.SumsFile}
	listed := map[string]bool{}
	for _, e := range entries {
		targets = append(targets, e.Path)
		listed[e.Path] = true
	}
	// verify refuses a file SHA256SUMS does not list; signing the rest and
	// shipping that one would publish a release that cannot verify.
	var unlisted []string
	for _, rel := range t.Summed() {
		if rel != dist.SumsFile && !listed[rel] {
			unlisted = append(unlisted, rel)
		}
	}
	if len(unlisted) > 0 {
		return nil, fmt.Errorf("refusing to sign: %s not listed in %s: re-run `release attest` to sum every file, or remove what does not belong in the release",
			listNames(unlisted, 20), dist.SumsFile)
	}
	want := map[string]bool{}
	var written []string
	for _, rel := range targets {
		bundle, err := signFile(ctx, s, t.Path(rel))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		out := rel + dist.BundleSuffix
		if err := dist.WriteFile(t.Path(out), bundle); err != nil {
			return nil, err
		}
		want[out] = true
		written = append(written, out)
		log.Info("signed", "file", rel, "bundle", out)
	}
	for _, b := range t.Bundles() {
		if !want[b] {
			if err := os.Remove(t.Path(b)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("remove stale bundle: %w", err)
			}
			log.Warn("removed stale bundle", "bundle", b)
		}
	}
	return written, nil
}

func signFile(ctx context.Context, s BlobSigner, file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.SignBlob(ctx, f)
}

// VerifyFile checks the bundle of one tree file against the file, with a
// key or a keyless policy. A signature that does not hold is reported
// against the bundle (<file>.sigstore.json), which names the file too.
func VerifyFile(ctx context.Context, v Verifier, t *dist.Tree, rel string) error {
	bundle, err := boundedio.ReadFileLimit(t.Path(rel+dist.BundleSuffix), MaxBundleBytes, "a Sigstore bundle")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: missing signature (%s%s not found)", rel, rel, dist.BundleSuffix)
		}
		return fmt.Errorf("%s: %w", rel, err)
	}
	// A file edited after signing fails the signature check too, but
	// "does not verify with this key" sends the user after the wrong
	// problem: compare the digest the bundle signs first and name the file.
	if err := checkSignedDigest(t, rel, bundle); err != nil {
		return err
	}
	f, err := os.Open(t.Path(rel))
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	if err := v.VerifyBlob(ctx, bundle, f); err != nil {
		return fmt.Errorf("%s%s: %w", rel, dist.BundleSuffix, err)
	}
	return nil
}

// MaxBundleBytes bounds a Sigstore bundle: a signature, a certificate chain
// and a transparency log entry take a few KiB.
const MaxBundleBytes = 4 * boundedio.MiB

// checkSignedDigest compares the SHA-256 a bundle's message signature
// covers with the file's. A bundle that records no digest is left to
// VerifyBlob.
func checkSignedDigest(t *dist.Tree, rel string, bundleJSON []byte) error {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("%s%s: not a Sigstore bundle: %w", rel, dist.BundleSuffix, err)
	}
	md := b.GetMessageSignature().GetMessageDigest()
	if md == nil || md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
		return nil
	}
	got, err := sums.File(t.Path(rel))
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if signed := md.GetDigest(); !bytes.Equal(mustHex(got), signed) {
		return fmt.Errorf("%s was changed after it was signed: its sha256 is %s, the signature in %s%s covers %s; restore the file as released (or, for a deliberate change, re-run `release attest` and `release sign`)",
			rel, got, rel, dist.BundleSuffix, hex.EncodeToString(signed))
	}
	return nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// listNames renders names for a message, at most max of them.
func listNames(names []string, max int) string {
	if len(names) == 1 {
		return names[0] + " is"
	}
	if len(names) > max {
		return fmt.Sprintf("%s and %d more are", strings.Join(names[:max], ", "), len(names)-max)
	}
	return strings.Join(names, ", ") + " are"
}
