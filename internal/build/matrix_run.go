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
	jr := newJobRunner(ctx, p.Log, hooks)

	kernels := make([]*Kernel, len(plan.Kernels))
	images := make([]*ImageResult, len(plan.Images))
	// Builder images first, one after the other, so parallel jobs find them cached
	// instead of each building the same one.
	if jr.run(JobResult{ID: JobBuilders, Kind: JobBuilders}, func(ctx context.Context, l *slog.Logger) ([]string, error) {
		return nil, p.withLog(l).warmBuilders(ctx, repo, plan)
	}) {
		var wg sync.WaitGroup
		for i, job := range plan.Kernels {
			wg.Go(func() {
				meta := JobResult{ID: KernelJobID(job), Kind: JobKernel, Arch: job.Arch.Name, Variant: job.Variant}
				jr.run(meta, func(ctx context.Context, l *slog.Logger) ([]string, error) {
					k, err := p.withLog(l).Kernel(ctx, repo, KernelSpec{Arch: job.Arch, Variant: job.Variant, Archive: spec.KernelArchive, Nonce: spec.Nonce})
					if err != nil {
						return nil, err
					}
					kernels[i] = k
					return k.Files, nil
				})
			})
		}
		for i, job := range plan.Images {
			wg.Go(func() { images[i] = p.runImage(jr, repo, job, spec) })
		}
		wg.Wait()
	} else {
		for _, job := range plan.Kernels {
			jr.skip(JobResult{ID: KernelJobID(job), Kind: JobKernel, Arch: job.Arch.Name, Variant: job.Variant}, errBuildersFailed)
		}
		for _, job := range plan.Images {
			skipImage(jr, job, errBuildersFailed)
		}
	}
	var err2 error
	run.Jobs, err2 = jr.finish()
	if err2 != nil {
		return run, err2
	}

	out := p.Client.Directory()
	for _, k := range kernels {
		out = out.WithDirectory(".", k.Dir)
	}
	hashes := map[string]map[string]string{}
	for _, res := range images {
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
	run.Dir = out.WithTimestamps(int(repo.Toolchain.Epoch))
	return run, nil
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
func (p *Pipeline) runImage(jr *jobRunner, repo *Repo, job ImageJob, spec MatrixSpec) *ImageResult {
	meta := func(kind string) JobResult {
		return JobResult{ID: ImageJobID(kind, job), Kind: kind, Arch: job.Arch.Name, Image: job.Image}
	}
	res := &ImageResult{Job: job}
	if !jr.run(meta(JobRootfs), func(ctx context.Context, l *slog.Logger) ([]string, error) {
		r, err := p.withLog(l).Rootfs(ctx, repo, RootfsSpec{Arch: job.Arch, Image: job.Image, Nonce: spec.Nonce})
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
			a, err := p.withLog(l).Initrd(ctx, res.Rootfs, InitrdSpec{Compression: spec.Compression})
			if err != nil {
				return nil, err
			}
			res.Initrd = a
			return a.Files, nil
		})
	})
	wg.Go(func() {
		diskOK = jr.run(meta(JobImage), func(ctx context.Context, l *slog.Logger) ([]string, error) {
			d, err := p.withLog(l).DiskImage(ctx, repo, res.Rootfs, DiskSpec{FS: spec.FS, Verity: spec.Verity})
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
