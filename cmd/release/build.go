package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/build"
)

func init() { rootCmd.AddCommand(newBuildCmd()) }

const buildLong = `With --all (what ` + "`make`" + ` runs): every target of the architecture in toolchain.yaml,
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

Without --all: one kernel (--kernel-variant) into OUT/<arch>/, named
<file>-<kernel release>-<config id>.

It needs a Dagger engine: on a host without one, run
eval "$(hack/airgap/engine.sh ensure)" first (hack/build.sh does).
Exit 1 when a job failed, 2 for bad flags or inputs.`

// buildFlags are the flags of `release build`: the shared groups and the rest of
// build.Request.
type buildFlags struct {
	req      build.Request
	arch     options.ArchOptions
	variant  options.KernelVariantOptions
	archive  options.KernelArchiveOptions
	manifest options.ManifestOptions
	asOf     options.AsOfOptions
	img      options.ImageBuildOptions
}

func newBuildCmd() *cobra.Command {
	o := buildFlags{arch: options.ArchOptions{Arch: "host"}, manifest: options.ManifestOptions{Path: "toolchain.yaml"},
		variant: options.KernelVariantOptions{Variant: "test", Help: "kernel config variant: test (smallest bootable), default, or a kernel-configs/variants/ name; with --all: build this variant instead of each target's"}}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build guest artifacts with the Dagger pipelines into dist/: one kernel, or with --all the arch's whole target set",
		Long:  buildLong,
		Example: `  release build --all --test            # make: host arch, test kernel, images
  release build --all --arch aarch64    # every aarch64 target, full kernels
  release build --kernel-variant debug  # one kernel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.req.All, "all", false, "build the arch's whole target set from toolchain.yaml (kernels, initrds, rootfs images) and write OUT/report.json")
	f.BoolVar(&o.req.Test, "test", false, "kernels: only the test variant (smallest bootable; the default of `make` on small machines)")
	o.arch.AddFlags(f)
	o.variant.AddFlags(f)
	f.StringVar(&o.req.Out, "out", "dist", "output directory")
	f.StringVar(&o.req.Version, "version", "", "release version: write to OUT/<version>/<arch>/ instead of OUT/<arch>/")
	o.manifest.AddFlags(f)
	o.archive.AddFlags(f)
	o.img.AddFlags(f)
	f.BoolVar(&o.req.NoVerity, "no-verity", false, "--all: leave the dm-verity hash trees out")
	o.asOf.AddFlags(f)
	f.BoolVar(&o.req.Verbose, "verbose", false, "--all: the engine's progress on stderr too (always in OUT/logs/engine.log)")
	return cmd
}

func (o *buildFlags) run(cmd *cobra.Command) error {
	req := o.req
	req.Arch, req.Variant, req.VariantSet = o.arch.Arch, o.variant.Variant, o.variant.Changed(cmd.Flags())
	req.Manifest, req.KernelArchive, req.AsOf = o.manifest.Path, o.archive.Archive, o.asOf.AsOf
	req.FS, req.Compression = o.img.FS, o.img.Compress
	req.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	req.Stderr = cmd.ErrOrStderr()
	res, err := build.Run(cmd.Context(), req)
	if res != nil {
		for _, f := range res.Files {
			fmt.Fprintln(cmd.OutOrStdout(), f)
		}
		if res.HTMLFile != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s, %s\n", res.JSONFile, res.HTMLFile)
		}
	}
	return buildExit(err)
}

// buildExit gives an error of internal/build (Run, Open, KernelSource) its exit code:
// 1 for a refused target or a failed job, 2 for bad input (and, through main, for
// anything else).
func buildExit(err error) error {
	var je *build.JobError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, build.ErrRefused), errors.As(err, &je):
		return violation(err)
	case errors.Is(err, build.ErrBadInput):
		return badInput(err)
	}
	return err
}
