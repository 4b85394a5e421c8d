package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/changes"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

// Request is one `release build`, its flags as given: Run parses and checks them.
type Request struct {
	// Arch is an architecture name or alias, or "host" (this machine's).
	Arch string
	// All builds the arch's whole target set into Out (BuildDist); else one kernel.
	All bool
	// Variant is the kernel variant; VariantSet says it was asked for, and with All it
	// then replaces every target's own. Test asks for the test variant.
	Variant    string
	VariantSet bool
	Test       bool
	// Out is the dist directory; Version puts the artifacts in Out/<Version>/<arch>/.
	Out, Version string
	// Manifest is toolchain.yaml; kernel-configs/, images/ and patches/ are read beside it.
	Manifest string
	// KernelArchive is a local copy of the pinned kernel archive ("" = download it).
	KernelArchive string
	// FS and Compression name the rootfs filesystem and the initrd compression; with
	// NoVerity the images get no dm-verity hash trees (All only).
	FS, Compression string
	NoVerity        bool
	// AsOf is the day deprecations are judged on, YYYY-MM-DD ("" = today, UTC).
	AsOf string
	// Log is the pipeline's logger (nil: discarded).
	Log *slog.Logger
	// Stderr gets the engine's progress: always for one kernel; with All only when
	// Verbose, as it always goes to Out/logs/engine.log.
	Stderr  io.Writer
	Verbose bool
	// Open opens the engine session; nil means Open. Tests put a stand-in here.
	Open func(context.Context, OpenSpec) (*Session, error)
}

// Result is what Run placed.
type Result struct {
	// Files are the artifacts placed, as paths under Out.
	Files []string
	// JSONFile and HTMLFile are the build report (All only, also after a failed job).
	JSONFile, HTMLFile string
}

// Run is `release build`. Every flag is checked, and with All the plan is made, before
// an engine is looked for: a refused target set needs no engine and leaves nothing in
// Out. The errors are classified: ErrBadInput, ErrRefused, ErrEngine, and a *JobError
// when a job of the target set failed; Result is returned with the error when the
// build got as far as placing files or writing its report.
func Run(ctx context.Context, req Request) (*Result, error) {
	if req.Log == nil {
		req.Log = slog.New(slog.DiscardHandler)
	}
	if req.Open == nil {
		req.Open = Open
	}
	a, err := arch.Host()
	if req.Arch != "host" {
		a, err = arch.Parse(req.Arch)
	}
	if err != nil {
		return nil, badInput(err)
	}
	day, err := policy.ParseAsOf(req.AsOf)
	if err != nil {
		return nil, badInput(err)
	}
	if req.Test {
		if req.VariantSet && req.Variant != "test" {
			return nil, badInput(errors.New("--test builds the test variant: drop --kernel-variant or --test"))
		}
		req.Variant = "test"
	}
	if err := safepath.CheckOutput(req.Out, Inputs(req.Manifest, req.KernelArchive)...); err != nil {
		return nil, badInput(err)
	}
	if !req.All {
		return runKernel(ctx, req, KernelSpec{Arch: a, Variant: req.Variant, Archive: req.KernelArchive}, day)
	}
	spec := MatrixSpec{Arches: []string{a.Name}, Verity: !req.NoVerity, AsOf: day, KernelArchive: req.KernelArchive}
	if req.VariantSet || req.Test {
		spec.KernelVariant = req.Variant
	}
	if spec.FS, err = ParseFS(req.FS); err != nil {
		return nil, badInput(err)
	}
	if spec.Compression, err = initrd.ParseCompression(req.Compression); err != nil {
		return nil, badInput(err)
	}
	return runDist(ctx, req, spec)
}

// runKernel builds one kernel into Out (Out/<version>/), gated like a target when
// the variant is one.
func runKernel(ctx context.Context, req Request, spec KernelSpec, day time.Time) (*Result, error) {
	dest := req.Out
	if req.Version != "" {
		dest = filepath.Join(req.Out, req.Version)
	}
	// The gate first, so a removed target needs no engine; GatedKernel judges the
	// same manifest again and logs the warnings.
	tc, err := manifest.Load(req.Manifest)
	if err != nil {
		return nil, badInput(err)
	}
	if _, err := GateKernel(tc, spec.Arch, spec.Variant, day); err != nil {
		return nil, err
	}
	s, err := req.Open(ctx, OpenSpec{Root: filepath.Dir(req.Manifest), Progress: req.Stderr, Log: req.Log})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	k, err := s.Pipeline.GatedKernel(ctx, s.Repo, spec, day)
	if err != nil {
		return nil, err
	}
	if _, err := k.Dir.Export(ctx, dest); err != nil {
		return nil, fmt.Errorf("export the kernel to %s: %w", dest, err)
	}
	res := &Result{}
	for _, f := range k.Files {
		res.Files = append(res.Files, filepath.Join(dest, f))
	}
	return res, nil
}

// runDist builds the target set of spec into Out with its report.
func runDist(ctx context.Context, req Request, spec MatrixSpec) (*Result, error) {
	// The plan first: a refused target set must not need an engine nor leave
	// anything in Out.
	tc, err := manifest.Load(req.Manifest)
	if err != nil {
		return nil, badInput(err)
	}
	if mp, err := PlanMatrix(tc, spec); err != nil {
		if len(mp.Skipped) > 0 { // every target of the arch is removed
			return nil, refused(err)
		}
		return nil, badInput(err)
	}
	root := filepath.Dir(req.Manifest)
	commit, err := changes.Head(ctx, root)
	if err != nil {
		req.Log.Info("not a git checkout: the report records no commit", "detail", err)
	}
	var progress io.Writer
	if req.Verbose {
		progress = req.Stderr
	}
	s, err := req.Open(ctx, OpenSpec{Root: root, LogDir: filepath.Join(req.Out, report.LogsDir), Progress: progress, Log: req.Log})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	start := time.Now()
	dr, err := s.Pipeline.BuildDist(ctx, s.Repo, DistSpec{Matrix: spec, Out: req.Out, Version: req.Version,
		Commit: commit, Heartbeat: 30 * time.Second})
	if dr == nil {
		return nil, err
	}
	res := &Result{JSONFile: dr.JSONFile, HTMLFile: dr.HTMLFile}
	for _, f := range dr.Files {
		res.Files = append(res.Files, filepath.Join(req.Out, f))
	}
	if err != nil {
		return res, err
	}
	req.Log.Info("build done", "arch", spec.Arches[0], "jobs", len(dr.Run.Jobs), "files", len(dr.Files), "took", time.Since(start).Round(time.Second))
	return res, nil
}

// Inputs are the files and trees a build reads (the manifest, what is read beside it,
// the kernel archive), which its output directory must stay clear of.
func Inputs(manifestPath, archive string) []string {
	root := filepath.Dir(manifestPath)
	return []string{manifestPath, filepath.Join(root, ConfigsDir), filepath.Join(root, ImagesDir), filepath.Join(root, PatchesDir), archive}
}
