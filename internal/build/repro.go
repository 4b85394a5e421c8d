package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// ReproSpec is one run of the reproducibility gate: the matrix built twice with every
// cache off, the second time perturbed.
type ReproSpec struct {
	// Matrix selects the target set; its Nonce is set per build.
	Matrix MatrixSpec
	// Perturb is the second build's environment; nil builds it like the first (to tell
	// plain nondeterminism from a perturbation that leaks).
	Perturb *Perturbation
	// OutA and OutB receive the two builds' artifact trees (dist/<version>/ layout).
	OutA, OutB string
}

// ReproBuild is one of the two builds.
type ReproBuild struct {
	Dir   string
	Nonce string
	Took  time.Duration
}

// BuildTwice builds spec.Matrix twice with distinct nonces (every step re-runs,
// ccache and the mmdebstrap cache are off) and exports the trees to OutA and OutB.
// The second build runs in spec.Perturb: its builder containers through
// Perturbation.Apply, this process with Perturbation.ApplyHost, its client-side work
// files under another path (Pipeline.Perturbed). Comparing the trees is
// internal/release/repro's job.
func (p *Pipeline) BuildTwice(ctx context.Context, repo *Repo, spec ReproSpec) ([2]ReproBuild, error) {
	var out [2]ReproBuild
	if err := checkImages(repo, spec.Matrix); err != nil {
		return out, err
	}
	if spec.OutA == "" || spec.OutB == "" || spec.OutA == spec.OutB {
		return out, fmt.Errorf("reproducibility build: two distinct output directories are needed, got %q and %q", spec.OutA, spec.OutB)
	}
	for i, dir := range []string{spec.OutA, spec.OutB} {
		nonce, err := newNonce("repro-" + string(rune('a'+i)))
		if err != nil {
			return out, err
		}
		out[i] = ReproBuild{Dir: dir, Nonce: nonce}
	}
	start := time.Now()
	p.Log.Info("repro: first build, cache disabled", "nonce", out[0].Nonce, "out", spec.OutA)
	if err := p.exportMatrix(ctx, repo, spec.Matrix, out[0].Nonce, spec.OutA); err != nil {
		return out, fmt.Errorf("first reproducibility build: %w", err)
	}
	out[0].Took = time.Since(start)

	q := p
	if spec.Perturb != nil {
		var cleanup func()
		var err error
		if q, cleanup, err = p.Perturbed(*spec.Perturb); err != nil {
			return out, err
		}
		defer cleanup()
		restore := spec.Perturb.ApplyHost()
		defer restore()
		p.Log.Info("repro: second build, cache disabled, perturbed", "nonce", out[1].Nonce, "out", spec.OutB,
			"tz", spec.Perturb.TZ, "lang", spec.Perturb.Lang, "lc_all", spec.Perturb.LCAll,
			"umask", fmt.Sprintf("%04o", spec.Perturb.Umask), "workdir", spec.Perturb.Workdir, "client_cache", q.CacheDir)
	} else {
		p.Log.Info("repro: second build, cache disabled, not perturbed", "nonce", out[1].Nonce, "out", spec.OutB)
	}
	start = time.Now()
	if err := q.exportMatrix(ctx, repo, spec.Matrix, out[1].Nonce, spec.OutB); err != nil {
		return out, fmt.Errorf("second reproducibility build: %w", err)
	}
	out[1].Took = time.Since(start)
	return out, nil
}

func (p *Pipeline) exportMatrix(ctx context.Context, repo *Repo, m MatrixSpec, nonce, dest string) error {
	m.Nonce = nonce
	dir, err := p.All(ctx, repo, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	if _, err := dir.Export(ctx, dest); err != nil {
		return fmt.Errorf("export to %s: %w", dest, err)
	}
	return nil
}

// checkImages refuses image names no selected target builds, before anything runs.
func checkImages(repo *Repo, m MatrixSpec) error {
	if len(m.Images) == 0 {
		return nil
	}
	all := m
	all.Images = nil
	plan, err := PlanMatrix(repo.Toolchain, all)
	if err != nil {
		return err
	}
	var known []string
	for _, j := range plan.Images {
		if !slices.Contains(known, j.Image) {
			known = append(known, j.Image)
		}
	}
	for _, img := range m.Images {
		if !slices.Contains(known, img) {
			return fmt.Errorf("--images names %q, but no selected target of %s builds it (images: %s)",
				img, cmpOr(repo.Toolchain.Path, ToolchainFile), strings.Join(known, ", "))
		}
	}
	return nil
}

// newNonce is a random cache buster: a nonce exists to match no earlier build.
func newNonce(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + "-" + hex.EncodeToString(b), nil
}
