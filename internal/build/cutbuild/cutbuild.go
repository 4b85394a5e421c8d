// Package cutbuild is the build stage of `release cut` on a Dagger engine: the
// plan's architectures, every target variant, built by internal/build's matrix
// into dist/<version>/, with the build record and report beside it. It lives
// under internal/build because it needs the engine; internal/release stays free
// of Dagger, and the CLI and the ci/ module share this one implementation.
package cutbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/report"
)

// Session is an open engine session with the checkout to build.
type Session struct {
	Pipeline *build.Pipeline
	Repo     *build.Repo
	// Close ends the session (nil: nothing to close).
	Close func() error
}

// Builder implements cut.Builder.
type Builder struct {
	// Open connects to the engine and opens the checkout. Only Build calls it, so a
	// dry run needs no engine.
	Open func(ctx context.Context, r *cut.Release) (*Session, error)
	// FS of the rootfs images (default ext4); images always get dm-verity in Kata's
	// layout, as the plan promises verity-<image>.params.
	FS build.FS
	// Heartbeat: see build.MatrixHooks.
	Heartbeat time.Duration
}

// Spec is the matrix the release builds: every target of the plan's arches, with
// the targets' own kernel variants, judged on the plan's day.
func Spec(r *cut.Release, fs build.FS) (build.MatrixSpec, error) {
	var arches []string
	for _, b := range r.Plan.Builds {
		if !slices.Contains(arches, b.Arch) {
			arches = append(arches, b.Arch)
		}
	}
	if len(arches) == 0 {
		return build.MatrixSpec{}, errors.New("the plan builds nothing")
	}
	return build.MatrixSpec{Arches: arches, FS: cmpOr(fs, build.FSExt4), Verity: true, AsOf: r.AsOf}, nil
}

func cmpOr(fs, def build.FS) build.FS {
	if fs == "" {
		return def
	}
	return fs
}

// Describe implements cut.Builder: what the engine will build, from the same
// planning the build uses.
func (b Builder) Describe(_ context.Context, r *cut.Release) ([]string, error) {
	spec, err := Spec(r, b.FS)
	if err != nil {
		return nil, err
	}
	mp, err := build.PlanMatrix(r.Manifest, spec)
	if err != nil {
		return nil, err
	}
	var kernels, images []string
	for _, k := range mp.Kernels {
		kernels = append(kernels, k.Arch.Name+"/"+k.Variant)
	}
	for _, i := range mp.Images {
		images = append(images, i.Arch.Name+"/"+i.Image)
	}
	out := []string{
		fmt.Sprintf("Dagger pipelines (internal/build) in one engine session: %d kernels (%s), %d images as initrd + %s rootfs with dm-verity (%s)",
			len(kernels), strings.Join(kernels, ", "), len(images), spec.FS, strings.Join(images, ", ")),
		fmt.Sprintf("exported to a temporary directory in %s, then moved into %s; build record, report.json/html and logs/ in %s",
			r.DistRoot, r.Dir, r.DistRoot),
	}
	for _, w := range mp.Warnings {
		out = append(out, "WARNING: "+w)
	}
	for _, s := range mp.Skipped {
		out = append(out, "not built: "+s)
	}
	return out, nil
}

// Build implements cut.Builder.
func (b Builder) Build(ctx context.Context, r *cut.Release, dir string) error {
	if filepath.Clean(dir) != filepath.Clean(filepath.Join(r.DistRoot, r.Tag)) {
		return fmt.Errorf("cutbuild: asked to build into %s, but the release tree is %s", dir, filepath.Join(r.DistRoot, r.Tag))
	}
	spec, err := Spec(r, b.FS)
	if err != nil {
		return err
	}
	if b.Open == nil {
		return errors.New("cutbuild: no engine session configured")
	}
	s, err := b.Open(ctx, r)
	if err != nil {
		return err
	}
	if s.Close != nil {
		defer s.Close()
	}
	// The release is planned, hashed and attested against this manifest: build
	// exactly it, whatever the checkout's copy says.
	s.Repo.Toolchain = r.Manifest
	res, err := s.Pipeline.BuildDist(ctx, s.Repo, build.DistSpec{Matrix: spec, Out: r.DistRoot, Version: r.Tag,
		Commit: r.Commit, Heartbeat: b.Heartbeat})
	if err != nil {
		return err
	}
	r.Log.Info("build: placed", "files", len(res.Files), "report", res.HTMLFile)
	return nil
}

// Local opens a session with the engine the environment names (build.Open) over
// the checkout being released, r.Repo; the engine's progress goes to
// dist/logs/engine.log, and to progress too when it is not nil.
func Local(log *slog.Logger, progress io.Writer) func(ctx context.Context, r *cut.Release) (*Session, error) {
	return func(ctx context.Context, r *cut.Release) (*Session, error) {
		s, err := build.Open(ctx, build.OpenSpec{Root: r.Repo, LogDir: filepath.Join(r.DistRoot, report.LogsDir),
			Progress: progress, Log: log})
		if err != nil {
			return nil, err
		}
		return &Session{Pipeline: s.Pipeline, Repo: s.Repo, Close: s.Close}, nil
	}
}
