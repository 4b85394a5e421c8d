package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/build"
)

func init() { rootCmd.AddCommand(newKernelSourceCmd()) }

func newKernelSourceCmd() *cobra.Command {
	var manifestPath, archive string
	cmd := &cobra.Command{
		Use:   "kernel-source",
		Short: "Fetch toolchain.yaml's kernel archive into the cache, verify its sha256, print its path",
		Long: `Downloads kernel.url from toolchain.yaml into the pipeline's source cache
(/var/cache/guestforge/src, or GUESTFORGE_CACHE_DIR/src) unless a verified copy is
there, checks it against kernel.sha256 and prints the local path. The kernel pipeline
does the same before it builds anything; hack/deps.sh uses this to unpack the source
the kernelsrc tests read. --archive checks a local copy instead (offline hosts).
Needs no Dagger engine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := build.KernelSource(cmd.Context(), manifestPath, archive, cmd.ErrOrStderr())
			if err != nil {
				return buildExit(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", build.ToolchainFile, "the toolchain manifest")
	cmd.Flags().StringVar(&archive, "archive", "", "verify this local copy instead of downloading")
	return cmd
}
