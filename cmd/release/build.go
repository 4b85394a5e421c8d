package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/build/session"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/changes"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
	"github.com/guestforge/guestforge/internal/support"
)

func init() { rootCmd.AddCommand(newBuildCmd()) }

func newBuildCmd() *cobra.Command {
	var (
		archName, variant, out, version, manifestPath, archive string
		fs, compress, asOf                                     string
		all, test, noVerity, verbose                           bool
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build guest artifacts with the Dagger pipelines into dist/: one kernel, or with --all the arch's whole target set",
		Long: `With --all (what ` + "`make`" + ` runs): every target of the architecture in toolchain.yaml,
built in parallel in one engine session: the kernel of each target variant (--test: only
the test variant, the smallest bootable kernel, for small machines), the initrd and the
ext4 rootfs image with dm-verity of every image the targets list. Deprecated targets
build with a warning naming their removal date; removed ones are not built (asking for
an arch whose every target is removed is refused). The result replaces OUT/<arch>/
(OUT/<version>/<arch>/ with --version) only once everything is built and exported: a
failure leaves OUT as it was. OUT/report.json and OUT/report.html describe every job
(status, duration, size, sha256, maintainers, support status, log); each job logs to
OUT/logs/<job>.log and the engine's progress goes to OUT/logs/engine.log (--verbose: to
stderr too).

Without --all: one kernel (--variant) into OUT/<arch>/, named
<file>-<kernel release>-<config id>.

It needs a Dagger engine: on a host without one, run
eval "$(hack/airgap/engine.sh ensure)" first (hack/build.sh does).
Exit 1 when a job failed, 2 for bad flags or inputs.`,
		Example: `  release build --all --test            # make: host arch, test kernel, images
  release build --all --arch aarch64    # every aarch64 target, full kernels
  release build --variant debug         # one kernel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := arch.Host()
			if archName != "host" {
				a, err = arch.Parse(archName)
			}
			if err != nil {
				return badInput(err)
			}
			day, err := policy.ParseAsOf(asOf)
			if err != nil {
				return badInput(err)
			}
			if test {
				if cmd.Flags().Changed("variant") && variant != "test" {
					return badInput(errors.New("--test builds the test variant: drop --variant or --test"))
				}
				variant = "test"
			}
			if err := safepath.CheckOutput(out, buildInputs(manifestPath, archive)...); err != nil {
				return badInput(err)
			}
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if !all {
				return buildKernel(cmd, a, variant, out, version, manifestPath, archive, day, log)
			}
			spec := build.MatrixSpec{Arches: []string{a.Name}, Verity: !noVerity, AsOf: day, KernelArchive: archive}
			if cmd.Flags().Changed("variant") || test {
				spec.KernelVariant = variant
			}
			if spec.FS, err = build.ParseFS(fs); err != nil {
				return badInput(err)
			}
			if spec.Compression, err = initrd.ParseCompression(compress); err != nil {
				return badInput(err)
			}
			// The plan first: a refused target set must not need an engine nor
			// leave anything in OUT.
			tc, err := manifest.Load(manifestPath)
			if err != nil {
				return badInput(err)
			}
			if mp, err := build.PlanMatrix(tc, spec); err != nil {
				if len(mp.Skipped) > 0 { // every target of the arch is removed
					return violation(err)
				}
				return badInput(err)
			}
			root := filepath.Dir(manifestPath)
			commit, err := changes.Head(ctx, root)
			if err != nil {
				log.Info("not a git checkout: the report records no commit", "detail", err)
			}

			c, done, err := engineSession(ctx, filepath.Join(out, report.LogsDir), verbose, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			p := build.New(c, nil)
			p.Log = log
			repo, err := p.LocalRepo(root)
			if err != nil {
				return badInput(err)
			}
			start := time.Now()
			res, err := p.BuildDist(ctx, repo, build.DistSpec{Matrix: spec, Out: out, Version: version,
				Commit: commit, Heartbeat: 30 * time.Second})
			if res != nil {
				for _, f := range res.Files {
					fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(out, f))
				}
				if res.HTMLFile != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "report: %s, %s\n", res.JSONFile, res.HTMLFile)
				}
			}
			if err != nil {
				var je *build.JobError
				if errors.As(err, &je) {
					return violation(err)
				}
				return err
			}
			log.Info("build done", "arch", a.Name, "jobs", len(res.Run.Jobs), "files", len(res.Files), "took", time.Since(start).Round(time.Second))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "build the arch's whole target set from toolchain.yaml (kernels, initrds, rootfs images) and write OUT/report.json")
	f.BoolVar(&test, "test", false, "kernels: only the test variant (smallest bootable; the default of `make` on small machines)")
	f.StringVar(&archName, "arch", "host", "architecture to build for (x86_64, aarch64, s390x, ppc64le, or host)")
	f.StringVar(&variant, "variant", "test", "kernel config variant: test (smallest bootable), default, or a kernel-configs/variants/ name; with --all: build this variant instead of each target's")
	f.StringVar(&out, "out", "dist", "output directory")
	f.StringVar(&version, "version", "", "release version: write to OUT/<version>/<arch>/ instead of OUT/<arch>/")
	f.StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest; kernel-configs/, images/ and patches/ are read beside it")
	f.StringVar(&archive, "kernel-archive", os.Getenv("GUESTFORGE_KERNEL_ARCHIVE"), "local copy of the pinned kernel archive for offline hosts (must match kernel.sha256; default $GUESTFORGE_KERNEL_ARCHIVE)")
	f.StringVar(&fs, "fs", "ext4", "--all: rootfs image filesystem, ext4 or erofs")
	f.BoolVar(&noVerity, "no-verity", false, "--all: leave the dm-verity hash trees out")
	f.StringVar(&compress, "compress", "zstd", "--all: initrd compression, zstd, gzip or none")
	f.StringVar(&asOf, "as-of", "", "the day deprecations are judged on, YYYY-MM-DD (default: today, UTC)")
	f.BoolVar(&verbose, "verbose", false, "--all: the engine's progress on stderr too (always in OUT/logs/engine.log)")
	return cmd
}

// buildKernel is `release build` without --all: one kernel, gated like a target
// when the variant is one.
func buildKernel(cmd *cobra.Command, a arch.Arch, variant, out, version, manifestPath, archive string, day time.Time, log *slog.Logger) error {
	dest := out
	if version != "" {
		dest = filepath.Join(out, version)
	}
	ctx := cmd.Context()
	c, err := session.Connect(ctx, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer c.Close()
	p := build.New(c, nil)
	p.Log = log
	repo, err := p.LocalRepo(filepath.Dir(manifestPath))
	if err != nil {
		return badInput(err)
	}
	// A variant that is no target (test, debug builds of a developer) is not gated.
	switch d, err := support.Gate(repo.Toolchain, a.Name, variant, day); {
	case errors.Is(err, support.ErrUnknownTarget):
	case errors.Is(err, support.ErrRemoved):
		return violation(err)
	case err != nil:
		return badInput(err)
	default:
		d.Log(log)
	}
	k, err := p.Kernel(ctx, repo, build.KernelSpec{Arch: a, Variant: variant, Archive: archive})
	if err != nil {
		return err
	}
	if _, err := k.Dir.Export(ctx, dest); err != nil {
		return fmt.Errorf("export the kernel to %s: %w", dest, err)
	}
	for _, f := range k.Files {
		fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(dest, f))
	}
	return nil
}

// buildInputs are the files and trees a build reads (the manifest, what is read
// beside it, the kernel archive), which its --out must stay clear of.
func buildInputs(manifestPath, archive string) []string {
	root := filepath.Dir(manifestPath)
	return []string{manifestPath, filepath.Join(root, "kernel-configs"), filepath.Join(root, "images"), filepath.Join(root, "patches"), archive}
}
