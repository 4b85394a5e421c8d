package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() { rootCmd.AddCommand(newKconfigCmd()) }

func newKconfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kconfig",
		Short: "Merge kernel-configs/ fragments and verify a configured .config against them",
		Long: `The kernel pipeline's configuration step, by hand: merge prints the fragment to pass as
KCONFIG_ALLCONFIG to "make allnoconfig" (then olddefconfig), verify checks that every
requested symbol survived in the resulting .config. See kernel-configs/README.md.`,
	}
	cmd.AddCommand(newKconfigListCmd(), newKconfigMergeCmd(), newKconfigVerifyCmd())
	return cmd
}

// kconfigTree are the flags naming the fragment tree: ours, or Kata's.
type kconfigTree struct {
	configs, kata string
}

func (k *kconfigTree) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.configs, "configs", "kernel-configs", "kernel config fragment tree")
	cmd.Flags().StringVar(&k.kata, "kata-fragments", "",
		"read Kata Containers' fragment directory (tools/packaging/kernel/configs/fragments) instead of --configs; variants: default, confidential")
	cmd.MarkFlagsMutuallyExclusive("configs", "kata-fragments")
}

func (k *kconfigTree) load() (*kconfig.Tree, error) {
	if k.kata != "" {
		return kconfig.LoadKata(k.kata)
	}
	return kconfig.Load(k.configs)
}

// kconfigTarget are the flags naming one (arch, variant).
type kconfigTarget struct {
	kconfigTree
	arch    options.ArchOptions
	variant options.KernelVariantOptions
}

func (k *kconfigTarget) register(cmd *cobra.Command) {
	k.kconfigTree.register(cmd)
	k.arch.AddFlags(cmd.Flags())
	k.variant = options.KernelVariantOptions{Variant: kconfig.DefaultVariant}
	k.variant.AddFlags(cmd.Flags())
}

func (k *kconfigTarget) merge() (*kconfig.Tree, *kconfig.Merged, error) {
	a, err := k.arch.Resolve()
	if err != nil {
		return nil, nil, badInput(err)
	}
	tree, err := k.load()
	if err != nil {
		return nil, nil, badInput(err)
	}
	m, err := tree.Merge(a, k.variant.Variant)
	if err != nil {
		return nil, nil, badInput(err)
	}
	return tree, m, nil
}

func newKconfigListCmd() *cobra.Command {
	var trees kconfigTree
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every arch/variant with its config id and request count",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tree, err := trees.load()
			if err != nil {
				return badInput(err)
			}
			out := cmd.OutOrStdout()
			for _, a := range arch.All() {
				for _, v := range tree.Variants() {
					m, err := tree.Merge(a, v)
					if errors.Is(err, kconfig.ErrNotApplicable) {
						continue
					}
					if err != nil {
						return badInput(err)
					}
					fmt.Fprintf(out, "%-8s %-13s %s %4d symbols %2d overrides\n", a.Name, v, m.ID(), len(m.Settings), len(m.Overrides))
				}
			}
			return nil
		},
	}
	trees.register(cmd)
	return cmd
}

func newKconfigMergeCmd() *cobra.Command {
	var t kconfigTarget
	var output string
	cmd := &cobra.Command{
		Use:   "merge",
		Short: "Write the merged fragment (KCONFIG_ALLCONFIG) for one arch/variant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			toStdout := output == "" || output == safepath.Stdout
			if !toStdout {
				if err := safepath.CheckOutput(output, t.configs); err != nil {
					return badInput(err)
				}
			}
			_, m, err := t.merge()
			if err != nil {
				return err
			}
			errOut := cmd.ErrOrStderr()
			for _, o := range m.Overrides {
				fmt.Fprintln(errOut, "override:", o)
			}
			fmt.Fprintf(errOut, "config id %s (%s/%s, %d symbols from %d fragments)\n", m.ID(), m.Arch.Name, m.Variant, len(m.Settings), len(m.Fragments))
			if toStdout {
				_, err = cmd.OutOrStdout().Write(m.Bytes())
				return err
			}
			if err := safepath.WriteBytes(output, 0o644, m.Bytes()); err != nil {
				return badInput(fmt.Errorf("merged fragment: %w", err))
			}
			return nil
		},
	}
	t.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the fragment here (default: stdout)")
	return cmd
}

// kconfigVerify are the flags of `release kconfig verify`.
type kconfigVerify struct {
	t                 kconfigTarget
	manifest          options.ManifestOptions
	dotConfig, series string
}

func newKconfigVerifyCmd() *cobra.Command {
	o := kconfigVerify{manifest: options.ManifestOptions{Path: "toolchain.yaml", Help: "toolchain manifest (for the kernel series)"}}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every requested symbol survived in a configured .config",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.t.register(cmd)
	cmd.Flags().StringVar(&o.dotConfig, "config", ".config", "the .config written by make olddefconfig")
	cmd.Flags().StringVar(&o.series, "series", "", "kernel series for the allowlist, e.g. 6.12 (default: from the manifest's kernel.version)")
	o.manifest.AddFlags(cmd.Flags())
	return cmd
}

func (o *kconfigVerify) run(cmd *cobra.Command) error {
	tree, m, err := o.t.merge()
	if err != nil {
		return err
	}
	allow, err := o.allowlist(tree)
	if err != nil {
		return badInput(err)
	}
	data, err := os.ReadFile(o.dotConfig)
	if err != nil {
		return badInput(fmt.Errorf("read the configured kernel's .config: %w", err))
	}
	r, err := m.Verify(data, allow)
	if r != nil {
		for _, e := range r.Excused {
			fmt.Fprintln(cmd.ErrOrStderr(), "excused:", e)
		}
		for _, e := range r.UnusedAllow {
			fmt.Fprintf(cmd.ErrOrStderr(), "unused allowlist entry %s (%s): it excused nothing here\n", e.Name, e.Pos)
		}
	}
	if err != nil {
		var verr *kconfig.VerifyError
		if errors.As(err, &verr) {
			return violation(err)
		}
		return badInput(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s/%s config %s: all %d requested symbols survived (%d excused)\n",
		m.Arch.Name, m.Variant, m.ID(), r.Checked, len(r.Excused))
	return nil
}

// allowlist is the tree's allowlist of the kernel series: --series, else the
// manifest's kernel.version.
func (o *kconfigVerify) allowlist(tree *kconfig.Tree) (*kconfig.Allowlist, error) {
	series := o.series
	if series == "" {
		tc, err := manifest.Load(o.manifest.Path)
		if err != nil {
			return nil, fmt.Errorf("kernel series: pass --series or a manifest: %w", err)
		}
		if series, err = kconfig.Series(tc.Kernel.Version); err != nil {
			return nil, err
		}
	}
	return tree.Allowlist(series)
}
