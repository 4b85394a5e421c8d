package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sync"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/diskimage"
)

// MatrixRun is what one matrix build did.
type MatrixRun struct {
	Plan MatrixPlan
	// Jobs are every job of the plan, in ID order, including the ones that failed
	// or never ran.
	Jobs []JobResult
	// Dir is the dist/<version>/ layout of everything built; nil when a job failed.
	Dir *dagger.Directory
}

// KernelJobID, ImageJobID name the jobs of a run.
func KernelJobID(j KernelJob) string { return JobKernel + "/" + j.Arch.Name + "/" + j.Variant }

// FirmwareJobID is firmware/arch.
func FirmwareJobID(j FirmwareJob) string { return JobFirmware + "/" + j.Arch.Name }

// ImageJobID is kind/arch/image for the rootfs, initrd and image jobs of j.
func ImageJobID(kind string, j ImageJob) string { return kind + "/" + j.Arch.Name + "/" + j.Image }

// RunMatrix builds the plan of spec in parallel, one job per kernel and, per image,
// a rootfs job followed by its initrd and disk image jobs. The first failure stops
// the rest; the error names the job. Every job is in the result either way, so a
// report can show what failed, what finished and what never ran.
func (p *Pipeline) RunMatrix(ctx context.Context, repo *Repo, spec MatrixSpec, hooks MatrixHooks) (*MatrixRun, error) {
	if spec.FS == "" {
		spec.FS = FSExt4
	}
	plan, err := PlanMatrix(repo.Toolchain, spec)
	if err != nil {
		return nil, err
	}
	for _, w := range plan.Warnings {
		p.Log.Warn(w)
	}
	for _, s := range plan.Skipped {
		p.Log.Warn("matrix: target not built", "reason", s)
	}
	p.Log.Info("matrix", "kernels", len(plan.Kernels), "images", len(plan.Images))
	run := &MatrixRun{Plan: plan}
	var built matrixBuilt
	run.Jobs, built, err = runJobs(ctx, pipelineSteps{p}, p.Log, repo, plan, spec, hooks)
	if err != nil {
		return run, err
	}
	run.Dir = p.assemble(repo, built)
	return run, nil
}

// matrixSteps are the engine's part of a matrix run, one call per job kind, each
// logging to the logger it is given. pipelineSteps is the real one; tests give
// runJobs a stand-in, so the scheduling (the builder images first, a rootfs before its
// initrd and disk image, what a failure stops, every job in the result) is tested
// without an engine.
type matrixSteps interface {
	WarmBuilders(ctx context.Context, log *slog.Logger, repo *Repo, plan MatrixPlan) error
	Kernel(ctx context.Context, log *slog.Logger, repo *Repo, spec KernelSpec) (*Kernel, error)
	Firmware(ctx context.Context, log *slog.Logger, repo *Repo, spec FirmwareSpec) (*Firmware, error)
	Rootfs(ctx context.Context, log *slog.Logger, repo *Repo, spec RootfsSpec) (*Rootfs, error)
	Initrd(ctx context.Context, log *slog.Logger, r *Rootfs, spec InitrdSpec) (*Artifact, error)
	DiskImage(ctx context.Context, log *slog.Logger, repo *Repo, r *Rootfs, spec DiskSpec) (*DiskImage, error)
}

// pipelineSteps are the matrix steps in Dagger.
type pipelineSteps struct{ p *Pipeline }

func (s pipelineSteps) WarmBuilders(ctx context.Context, l *slog.Logger, repo *Repo, plan MatrixPlan) error {
	return s.p.withLog(l).warmBuilders(ctx, repo, plan)
}

func (s pipelineSteps) Kernel(ctx context.Context, l *slog.Logger, repo *Repo, spec KernelSpec) (*Kernel, error) {
	return s.p.withLog(l).Kernel(ctx, repo, spec)
}

func (s pipelineSteps) Firmware(ctx context.Context, l *slog.Logger, repo *Repo, spec FirmwareSpec) (*Firmware, error) {
	return s.p.withLog(l).Firmware(ctx, repo, spec)
}

func (s pipelineSteps) Rootfs(ctx context.Context, l *slog.Logger, repo *Repo, spec RootfsSpec) (*Rootfs, error) {
	return s.p.withLog(l).Rootfs(ctx, repo, spec)
}

func (s pipelineSteps) Initrd(ctx context.Context, l *slog.Logger, r *Rootfs, spec InitrdSpec) (*Artifact, error) {
	return s.p.withLog(l).Initrd(ctx, r, spec)
}

func (s pipelineSteps) DiskImage(ctx context.Context, l *slog.Logger, repo *Repo, r *Rootfs, spec DiskSpec) (*DiskImage, error) {
	return s.p.withLog(l).DiskImage(ctx, repo, r, spec)
}

// matrixBuilt is what the jobs of a run made, in plan order.
type matrixBuilt struct {
	kernels  []*Kernel
	firmware []*Firmware
	images   []*ImageResult
}

// runJobs runs the jobs of plan with steps: the builder images first, one after the
// other, so parallel jobs find them cached instead of each building the same one; then
// every kernel, firmware and image in parallel. It returns every job's result in ID
// order, what was built, and the failures joined.
func runJobs(ctx context.Context, steps matrixSteps, log *slog.Logger, repo *Repo, plan MatrixPlan, spec MatrixSpec, hooks MatrixHooks) ([]JobResult, matrixBuilt, error) {
	jr := newJobRunner(ctx, log, hooks)
	kernels := make([]*Kernel, len(plan.Kernels))
	firmware := make([]*Firmware, len(plan.Firmware))
	images := make([]*ImageResult, len(plan.Images))
	if jr.run(JobResult{ID: JobBuilders, Kind: JobBuilders}, func(ctx context.Context, l *slog.Logger) ([]string, error) {
		return nil, steps.WarmBuilders(ctx, l, repo, plan)
	}) {
		var wg sync.WaitGroup
		for i, job := range plan.Kernels {
			wg.Go(func() {
				meta := JobResult{ID: KernelJobID(job), Kind: JobKernel, Arch: job.Arch.Name, Variant: job.Variant}
				jr.run(meta, func(ctx context.Context, l *slog.Logger) ([]string, error) {
					k, err := steps.Kernel(ctx, l, repo, KernelSpec{Arch: job.Arch, Variant: job.Variant, Archive: spec.KernelArchive, Nonce: spec.Nonce})
					if err != nil {
						return nil, err
					}
					kernels[i] = k
					return k.Files, nil
				})
			})
		}
		for i, job := range plan.Firmware {
			wg.Go(func() {
				jr.run(JobResult{ID: FirmwareJobID(job), Kind: JobFirmware, Arch: job.Arch.Name}, func(ctx context.Context, l *slog.Logger) ([]string, error) {
					fw, err := steps.Firmware(ctx, l, repo, FirmwareSpec{Arch: job.Arch, Nonce: spec.Nonce})
					if err != nil {
						return nil, err
					}
					firmware[i] = fw
					return fw.Files, nil
				})
			})
		}
		for i, job := range plan.Images {
			wg.Go(func() { images[i] = runImage(jr, steps, repo, job, spec) })
		}
		wg.Wait()
	} else {
		for _, job := range plan.Kernels {
			jr.skip(JobResult{ID: KernelJobID(job), Kind: JobKernel, Arch: job.Arch.Name, Variant: job.Variant}, errBuildersFailed)
		}
		for _, job := range plan.Firmware {
			jr.skip(JobResult{ID: FirmwareJobID(job), Kind: JobFirmware, Arch: job.Arch.Name}, errBuildersFailed)
		}
		for _, job := range plan.Images {
			skipImage(jr, job, errBuildersFailed)
		}
	}
	jobs, err := jr.finish()
	return jobs, matrixBuilt{kernels: kernels, firmware: firmware, images: images}, err
}

// assemble lays the built kernels, firmware and images out as dist/<version>/, with
// each arch's root_hash.txt listing all its images.
func (p *Pipeline) assemble(repo *Repo, built matrixBuilt) *dagger.Directory {
	out := p.Client.Directory()
	for _, k := range built.kernels {
		out = out.WithDirectory(".", k.Dir)
	}
	for _, fw := range built.firmware {
		out = out.WithDirectory(".", fw.Dir)
	}
	hashes := map[string]map[string]string{}
	for _, res := range built.images {
		out = out.WithDirectory(".", res.Initrd.Dir).WithDirectory(".", res.Disk.Dir)
		if v := res.Disk.Verity; v != nil {
			a := res.Job.Arch.Name
			if hashes[a] == nil {
				hashes[a] = map[string]string{}
			}
			hashes[a][res.Job.Image] = v.RootHash
		}
	}
	// Each disk image wrote a root_hash.txt of its own; the arch's lists them all.
	for _, a := range slices.Sorted(mapKeys(hashes)) {
		out = out.WithNewFile(path.Join(a, artifact.RootHashName), string(diskimage.RootHashFile(hashes[a])))
	}
	return out.WithTimestamps(int(repo.Toolchain.Epoch))
}

var errBuildersFailed = errors.New("not started: " + JobBuilders + " failed")

func skipImage(jr *jobRunner, job ImageJob, why error) {
	for _, kind := range []string{JobRootfs, JobInitrd, JobImage} {
		jr.skip(JobResult{ID: ImageJobID(kind, job), Kind: kind, Arch: job.Arch.Name, Image: job.Image}, why)
	}
}

// withLog is p with the job's logger, so each job's steps land in its own log.
func (p *Pipeline) withLog(l *slog.Logger) *Pipeline {
	jp := *p
	jp.Log = l
	return &jp
}

// runImage runs one image's jobs: the rootfs, then its initrd and disk image in
// parallel. nil when any of them failed.
func runImage(jr *jobRunner, steps matrixSteps, repo *Repo, job ImageJob, spec MatrixSpec) *ImageResult {
	meta := func(kind string) JobResult {
		return JobResult{ID: ImageJobID(kind, job), Kind: kind, Arch: job.Arch.Name, Image: job.Image}
	}
	res := &ImageResult{Job: job}
	if !jr.run(meta(JobRootfs), func(ctx context.Context, l *slog.Logger) ([]string, error) {
		r, err := steps.Rootfs(ctx, l, repo, RootfsSpec{Arch: job.Arch, Image: job.Image, Nonce: spec.Nonce})
		res.Rootfs = r
		// The rootfs tarball is an input of the next two jobs, not a dist artifact.
		return nil, err
	}) {
		why := fmt.Errorf("not started: %s did not finish", ImageJobID(JobRootfs, job))
		jr.skip(meta(JobInitrd), why)
		jr.skip(meta(JobImage), why)
		return nil
	}
	var wg sync.WaitGroup
	var initrdOK, diskOK bool
	wg.Go(func() {
		initrdOK = jr.run(meta(JobInitrd), func(ctx context.Context, l *slog.Logger) ([]string, error) {
			a, err := steps.Initrd(ctx, l, res.Rootfs, InitrdSpec{Compression: spec.Compression})
			if err != nil {
				return nil, err
			}
			res.Initrd = a
			return a.Files, nil
		})
	})
	wg.Go(func() {
		diskOK = jr.run(meta(JobImage), func(ctx context.Context, l *slog.Logger) ([]string, error) {
			d, err := steps.DiskImage(ctx, l, repo, res.Rootfs, DiskSpec{FS: spec.FS, Verity: spec.Verity})
			if err != nil {
				return nil, err
			}
			res.Disk = d
			// The arch's root_hash.txt lists every image: it belongs to the run, not
			// to this job.
			var files []string
			for _, f := range d.Files {
				if path.Base(f) != artifact.RootHashName {
					files = append(files, f)
				}
			}
			return files, nil
		})
	})
	wg.Wait()
	if !initrdOK || !diskOK {
		return nil
	}
	return res
}
