package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/safepath"
	"github.com/guestforge/guestforge/internal/support"
)

func init() { rootCmd.AddCommand(newSupportMatrixCmd()) }

const supportLong = `Renders the target matrix of toolchain.yaml (arch, variant, images, status,
maintainers, deprecation dates) as markdown. With --check nothing is written: it exits 1
when the committed file differs from what toolchain.yaml generates.`

// supportFlags are the flags of `release support-matrix`.
type supportFlags struct {
	manifest options.ManifestOptions
	out      string
	check    bool
}

func newSupportMatrixCmd() *cobra.Command {
	o := supportFlags{manifest: options.ManifestOptions{Path: "toolchain.yaml", Help: "toolchain manifest to read targets from"}}
	cmd := &cobra.Command{
		Use:   "support-matrix",
		Short: "Generate docs/support-matrix.md from toolchain.yaml targets (--check: fail when the committed file is stale)",
		Long:  supportLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.manifest.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.out, "output", "o", support.MatrixPath, "markdown file to write (or compare with --check)")
	cmd.Flags().BoolVar(&o.check, "check", false, "compare instead of writing; exit 1 when the file is stale")
	return cmd
}

func (o *supportFlags) run(cmd *cobra.Command) error {
	tc, err := manifest.Load(o.manifest.Path)
	if err != nil {
		return badInput(err)
	}
	if o.check {
		if err := support.Check(tc, o.out); err != nil {
			if errors.Is(err, support.ErrStale) {
				return violation(err)
			}
			return badInput(err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date with %s\n", o.out, o.manifest.Path)
		return nil
	}
	if err := safepath.CheckOutput(o.out, o.manifest.Path); err != nil {
		return badInput(err)
	}
	md, err := support.Markdown(tc)
	if err != nil {
		return badInput(err)
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return badInput(fmt.Errorf("create directory for %s: %w", o.out, err))
	}
	if err := safepath.WriteBytes(o.out, 0o644, md); err != nil {
		return badInput(fmt.Errorf("support matrix: %w", err))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", o.out)
	return nil
}
