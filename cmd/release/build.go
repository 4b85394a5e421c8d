package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/build/session"
)

func init() { rootCmd.AddCommand(newBuildCmd()) }

func newBuildCmd() *cobra.Command {
	var archName, variant, out, version, manifestPath, archive string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build a guest kernel with the Dagger pipeline into dist/",
		Long: `Builds the kernel for one architecture and config variant from toolchain.yaml and
kernel-configs/ and exports vmlinux, vmlinuz (where the arch has a compressed image),
config and System.map, named <file>-<kernel release>-<config id>, to OUT/<arch>/
(OUT/<version>/<arch>/ with --version). It needs a Dagger engine: on a host without one,
run eval "$(hack/airgap/engine.sh ensure)" first (hack/build.sh does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := arch.Host()
			if archName != "host" {
				a, err = arch.Parse(archName)
			}
			if err != nil {
				return badInput(err)
			}
			dest := out
			if version != "" {
				dest = filepath.Join(out, version)
			}
			ctx := cmd.Context()
			c, err := session.Connect(ctx, os.Stderr)
			if err != nil {
				return err
			}
			defer c.Close()
			p := build.New(c, os.Stderr)
			repo, err := p.LocalRepo(filepath.Dir(manifestPath))
			if err != nil {
				return badInput(err)
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
		},
	}
	f := cmd.Flags()
	f.StringVar(&archName, "arch", "host", "architecture to build for (x86_64, aarch64, s390x, ppc64le, or host)")
	f.StringVar(&variant, "variant", "test", "kernel config variant: test (smallest bootable), default, or a kernel-configs/variants/ name")
	f.StringVar(&out, "out", "dist", "output directory")
	f.StringVar(&version, "version", "", "release version: write to OUT/<version>/<arch>/ instead of OUT/<arch>/")
	f.StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest; kernel-configs/ and patches/ are read beside it")
	f.StringVar(&archive, "kernel-archive", os.Getenv("GUESTFORGE_KERNEL_ARCHIVE"), "local copy of the pinned kernel archive for offline hosts (must match kernel.sha256; default $GUESTFORGE_KERNEL_ARCHIVE)")
	return cmd
}
