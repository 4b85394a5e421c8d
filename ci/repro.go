package main

// The reproducibility gate: `release repro` inside the pipeline.
//
//	dagger call repro --arch=x86_64 --kernel-variant=test
//	dagger call repro --no-kernel --image=default

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	gfarch "github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/repro"
)

// Repro builds the selected targets twice with every cache off (a fresh nonce each
// time: no engine cache, no ccache, no cached mmdebstrap), the second time in a
// perturbed environment (time zone, locale, umask, working directory, client work
// path), and compares the artifacts by sha256. It returns the report; a mismatch is
// an error carrying the report, whose first line names the failing file and the
// first differing member inside it. ext4 members are named when debugfs is in the
// module's runtime; otherwise the report gives the first differing byte (run
// `release repro` on a host with e2fsprogs for the member).
//
// Each call is a new pair of builds: a verdict is never reused.
// +cache="session"
func (m *Guestforge) Repro(
	ctx context.Context,
	// architectures to build (default: the engine's)
	// +optional
	arch []string,
	// deprecated: the old name of --arch, added to it
	// +optional
	arches []string,
	// images to build (default: every image the selected targets list)
	// +optional
	image []string,
	// deprecated: the old name of --image, added to it
	// +optional
	images []string,
	// kernel config variant for every arch; "targets" builds each target's own variant
	// +default="test"
	kernelVariant string,
	// leave kernels out (images only)
	// +optional
	noKernel bool,
	// build the second tree like the first (tells plain nondeterminism from a leaking perturbation)
	// +optional
	noPerturb bool,
	// the day deprecated targets are judged on, YYYY-MM-DD (default: today, UTC)
	// +optional
	asOf string,
) (string, error) {
	day, err := policy.ParseAsOf(asOf)
	if err != nil {
		return "", err
	}
	return m.buildTwice(ctx, build.MatrixSpec{Arches: append(arch, arches...), Images: append(image, images...), NoKernel: noKernel,
		FS: build.FSExt4, Verity: true, AsOf: day, KernelVariant: build.KernelVariantArg(kernelVariant)}, !noPerturb)
}

// buildTwice builds spec twice (the engine's arch when spec names none), the second
// time perturbed when asked, and judges the two trees.
func (m *Guestforge) buildTwice(ctx context.Context, spec build.MatrixSpec, perturb bool) (string, error) {
	if len(spec.Arches) == 0 {
		a, err := gfarch.Host()
		if err != nil {
			return "", err
		}
		spec.Arches = []string{a.Name}
	}
	s, err := m.session(ctx, os.Stderr)
	if err != nil {
		return "", err
	}
	defer s.client.Close()
	tmp, err := os.MkdirTemp("", "guestforge-repro-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	rs := build.ReproSpec{Matrix: spec, OutA: filepath.Join(tmp, "a"), OutB: filepath.Join(tmp, "b")}
	if perturb {
		pt := build.DefaultPerturbation()
		rs.Perturb = &pt
	}
	if _, err := s.pipeline.BuildTwice(ctx, s.repo, rs); err != nil {
		return "", err
	}
	return compareTrees(ctx, rs.OutA, rs.OutB, tmp)
}

// compareTrees judges the two builds; a mismatch is an error carrying the report.
func compareTrees(ctx context.Context, a, b, tmp string) (string, error) {
	// No diffoscope: its report would stay in this function's container, and on a
	// disk image it can take longer than the builds.
	rep, err := repro.Compare(ctx, a, b, repro.Options{TempDir: tmp, NoDiffoscope: true})
	if err != nil {
		return "", err
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		return "", err
	}
	if !rep.Identical {
		return "", fmt.Errorf("%s", text.String())
	}
	return text.String(), nil
}
