package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/build"
)

func init() { rootCmd.AddCommand(newBuildCmd()) }

func newBuildCmd() *cobra.Command {
	var req build.Request
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
			req.VariantSet = cmd.Flags().Changed("variant")
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
		},
	}
	f := cmd.Flags()
	f.BoolVar(&req.All, "all", false, "build the arch's whole target set from toolchain.yaml (kernels, initrds, rootfs images) and write OUT/report.json")
	f.BoolVar(&req.Test, "test", false, "kernels: only the test variant (smallest bootable; the default of `make` on small machines)")
	f.StringVar(&req.Arch, "arch", "host", "architecture to build for (x86_64, aarch64, s390x, ppc64le, or host)")
	f.StringVar(&req.Variant, "variant", "test", "kernel config variant: test (smallest bootable), default, or a kernel-configs/variants/ name; with --all: build this variant instead of each target's")
	f.StringVar(&req.Out, "out", "dist", "output directory")
	f.StringVar(&req.Version, "version", "", "release version: write to OUT/<version>/<arch>/ instead of OUT/<arch>/")
	f.StringVar(&req.Manifest, "manifest", "toolchain.yaml", "toolchain manifest; kernel-configs/, images/ and patches/ are read beside it")
	f.StringVar(&req.KernelArchive, "kernel-archive", os.Getenv("GUESTFORGE_KERNEL_ARCHIVE"), "local copy of the pinned kernel archive for offline hosts (must match kernel.sha256; default $GUESTFORGE_KERNEL_ARCHIVE)")
	f.StringVar(&req.FS, "fs", "ext4", "--all: rootfs image filesystem, ext4 or erofs")
	f.BoolVar(&req.NoVerity, "no-verity", false, "--all: leave the dm-verity hash trees out")
	f.StringVar(&req.Compression, "compress", "zstd", "--all: initrd compression, zstd, gzip or none")
	f.StringVar(&req.AsOf, "as-of", "", "the day deprecations are judged on, YYYY-MM-DD (default: today, UTC)")
	f.BoolVar(&req.Verbose, "verbose", false, "--all: the engine's progress on stderr too (always in OUT/logs/engine.log)")
	return cmd
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
