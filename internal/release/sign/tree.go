package sign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

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
	for _, e := range entries {
		targets = append(targets, e.Path)
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
	bundle, err := os.ReadFile(t.Path(rel + dist.BundleSuffix))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: missing signature (%s%s not found)", rel, rel, dist.BundleSuffix)
		}
		return fmt.Errorf("%s: %w", rel, err)
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
