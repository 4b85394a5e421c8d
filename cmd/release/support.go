package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/safepath"
	"github.com/guestforge/guestforge/internal/support"
)

func init() {
	var (
		manifestPath string
		out          string
		check        bool
	)
	cmd := &cobra.Command{
		Use:   "support-matrix",
		Short: "Generate docs/support-matrix.md from toolchain.yaml targets (--check: fail when the committed file is stale)",
		Long: `Renders the target matrix of toolchain.yaml (arch, variant, images, status,
maintainers, deprecation dates) as markdown. With --check nothing is written: it exits 1
when the committed file differs from what toolchain.yaml generates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tc, err := manifest.Load(manifestPath)
			if err != nil {
				return badInput(err)
			}
			if check {
				if err := support.Check(tc, out); err != nil {
					if errors.Is(err, support.ErrStale) {
						return violation(err)
					}
					return badInput(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date with %s\n", out, manifestPath)
				return nil
			}
			if err := safepath.CheckOutput(out, manifestPath); err != nil {
				return badInput(err)
			}
			md, err := support.Markdown(tc)
			if err != nil {
				return badInput(err)
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return badInput(fmt.Errorf("create directory for %s: %w", out, err))
			}
			if err := safepath.WriteBytes(out, 0o644, md); err != nil {
				return badInput(fmt.Errorf("support matrix: %w", err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest to read targets from")
	cmd.Flags().StringVarP(&out, "output", "o", support.MatrixPath, "markdown file to write (or compare with --check)")
	cmd.Flags().BoolVar(&check, "check", false, "compare instead of writing; exit 1 when the file is stale")
	rootCmd.AddCommand(cmd)
}
