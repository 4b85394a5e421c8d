package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/support"
)

// MatrixSpec selects what `all` builds from toolchain.yaml's targets.
type MatrixSpec struct {
	// Arches limits the build to these architectures (names or aliases); empty = all
	// the targets name.
	Arches []string
	// KernelVariant, when set, builds this kernel variant for every selected arch
	// instead of the targets' variants (e.g. "test" on a small machine).
	KernelVariant string
	// NoKernel leaves kernels out (images only).
	NoKernel bool
	// KernelArchive is a local copy of the pinned kernel archive (KernelSpec.Archive).
	KernelArchive string
	FS            FS
	Verity        bool
	// Compression of the initrds (default zstd).
	Compression initrd.Compression
	// AsOf is the day deprecations are judged on (support.Gate).
	AsOf time.Time
	// Images limits the build to these images (empty = all the targets list); Nonce
	// makes every job a cache-disabled build (KernelSpec.Nonce): release repro.
	Images []string
	Nonce  string
}

// TargetVariants is the kernel-variant argument (`release repro --kernel-variant`, the
// Dagger functions all and repro) that builds each target's own kernel variant instead
// of one variant for every arch.
const TargetVariants = "targets"

// KernelVariantArg turns a kernel-variant argument into MatrixSpec.KernelVariant.
func KernelVariantArg(v string) string {
	if v == TargetVariants {
		return ""
	}
	return v
}

// KernelJob and ImageJob are the units of a matrix build.
type KernelJob struct {
	Arch    arch.Arch
	Variant string
}

// ImageJob builds one image (rootfs, initrd, disk image) for one arch. Images do not
// depend on the kernel variant: each is built once per arch however many targets
// list it.
type ImageJob struct {
	Arch  arch.Arch
	Image string
}

// FirmwareJob builds the OVMF images of one arch's TEEs: once per arch that has a
// measured target (a measure: block), however many there are.
type FirmwareJob struct {
	Arch arch.Arch
}

// MatrixPlan is what a matrix build will do.
type MatrixPlan struct {
	Kernels []KernelJob
	// Firmware follows the kernels: NoKernel leaves it out too.
	Firmware []FirmwareJob
	Images   []ImageJob
	// Warnings are the support gate's (deprecations, missing maintainers).
	Warnings []string
	// Skipped names removed targets and why.
	Skipped []string
}

// PlanMatrix turns the targets into jobs: targets filtered by arch, removed ones
// skipped (support.Gate), kernels and images deduplicated, in the arch table's order.
func PlanMatrix(tc *manifest.Toolchain, spec MatrixSpec) (MatrixPlan, error) {
	entries, err := support.Entries(tc)
	if err != nil {
		return MatrixPlan{}, err
	}
	want := map[string]bool{}
	for _, s := range spec.Arches {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			a, err := arch.Parse(part)
			if err != nil {
				return MatrixPlan{}, fmt.Errorf("--arch: %w", err)
			}
			want[a.Name] = true
		}
	}
	var plan MatrixPlan
	seenK, seenI, seenF, hasArch := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		if len(want) > 0 && !want[e.Arch.Name] {
			continue
		}
		hasArch[e.Arch.Name] = true
		d, err := support.Gate(tc, e.Arch.Name, e.Target.Variant, spec.AsOf)
		if errors.Is(err, support.ErrRemoved) {
			plan.Skipped = append(plan.Skipped, err.Error())
			continue
		}
		if err != nil {
			return MatrixPlan{}, err
		}
		plan.Warnings = append(plan.Warnings, d.Warnings...)
		variant := cmpOr(spec.KernelVariant, e.Target.Variant)
		if k := e.Arch.Name + "/" + variant; !spec.NoKernel && !seenK[k] {
			seenK[k] = true
			plan.Kernels = append(plan.Kernels, KernelJob{Arch: e.Arch, Variant: variant})
		}
		if measured := e.Target.Measure != nil && len(e.Arch.TEEs) > 0; measured && !spec.NoKernel && !seenF[e.Arch.Name] {
			seenF[e.Arch.Name] = true
			plan.Firmware = append(plan.Firmware, FirmwareJob{Arch: e.Arch})
		}
		for _, img := range e.Target.Images {
			if k := e.Arch.Name + "/" + img; !seenI[k] && (len(spec.Images) == 0 || slices.Contains(spec.Images, img)) {
				seenI[k] = true
				plan.Images = append(plan.Images, ImageJob{Arch: e.Arch, Image: img})
			}
		}
	}
	for name := range want {
		if !hasArch[name] {
			return MatrixPlan{}, fmt.Errorf("--arch names %s, but no target in %s builds it", name, cmpOr(tc.Path, ToolchainFile))
		}
	}
	if len(plan.Kernels)+len(plan.Images) == 0 {
		return plan, fmt.Errorf("nothing to build: every selected target is removed (%s)", strings.Join(plan.Skipped, "; "))
	}
	return plan, nil
}

// ImageResult is everything one ImageJob made.
type ImageResult struct {
	Job    ImageJob
	Rootfs *Rootfs
	Initrd *Artifact
	Disk   *DiskImage
}

// warmBuilders makes the builder images the plan needs one after the other before the
// jobs start, so parallel jobs find them cached instead of each building the same one.
func (p *Pipeline) warmBuilders(ctx context.Context, repo *Repo, plan MatrixPlan) error {
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return err
	}
	var names []string
	if len(plan.Kernels) > 0 {
		names = append(names, "kernel")
	}
	if len(plan.Firmware) > 0 {
		names = append(names, "firmware")
	}
	if len(plan.Images) > 0 {
		names = append(names, "rootfs", "image")
	}
	// Every lock first, then every locked .deb of every image fetched and verified:
	// a stale lock or a package the mirror no longer serves fails the run here, before
	// anything is built, naming the lock line and the command that refreshes it.
	specs := make([]BuilderSpec, len(names))
	for i, name := range names {
		if specs[i], err = BuilderFromRepo(ctx, repo, name, host); err != nil {
			return err
		}
	}
	if err := p.verifyImageLocks(ctx, repo, plan, specs); err != nil {
		return err
	}
	for _, spec := range specs {
		if _, err := p.Builder(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

// verifyImageLocks checks the lock of every image job of plan and downloads and
// verifies its .debs (lockRepo), so the image jobs only build.
func (p *Pipeline) verifyImageLocks(ctx context.Context, repo *Repo, plan MatrixPlan, builders []BuilderSpec) error {
	var rootfsBuilder BuilderSpec
	for _, b := range builders {
		if b.Name == "rootfs" {
			rootfsBuilder = b
		}
	}
	for _, job := range plan.Images {
		d, err := p.loadImage(ctx, repo, job.Image)
		if err != nil {
			return err
		}
		rs, err := imageRawSpec(ctx, repo, d, job.Arch, rootfsBuilder)
		d.cleanup()
		if err != nil {
			return err
		}
		if _, err := p.lockRepo(ctx, rs.Lock, rs.Section); err != nil {
			return err
		}
	}
	return nil
}

// All builds the matrix in parallel and returns one directory laid out as
// dist/<version>/: <arch>/ with the kernels, initrd-<image>.img,
// rootfs-<image>.img in Kata's layout (+ verity-<image>.params and .cmdline) and root_hash.txt.
// RunMatrix is the same build with every job's result.
func (p *Pipeline) All(ctx context.Context, repo *Repo, spec MatrixSpec) (*dagger.Directory, error) {
	run, err := p.RunMatrix(ctx, repo, spec, MatrixHooks{})
	if err != nil {
		return nil, err
	}
	return run.Dir, nil
}
