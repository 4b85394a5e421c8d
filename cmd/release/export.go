package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/katastatic"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newExportCmd()) }

func newExportCmd() *cobra.Command {
	var (
		layout string
		req    katastatic.Request
	)
	cmd := &cobra.Command{
		Use:   "export --layout kata-static -o FILE",
		Short: "Export one arch of a dist tree in another project's layout (kata-deploy's)",
		Long: `kata-static writes the tree kata-deploy installs, /opt/kata/share/kata-containers/ with
Kata's file names and symlinks (vmlinux.container, kata-containers.img,
kata-containers-initrd.img, root_hash_base.txt, ...), as an uncompressed, byte-reproducible
tarball: sorted, uid/gid 0, every mtime $SOURCE_DATE_EPOCH (else toolchain.yaml's epoch).
Kernels are named by the kernel-configs variant whose config id they carry; docs/kata.md
lists every name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if layout != "kata-static" {
				return badInput(fmt.Errorf("unknown --layout %q: the one export layout is kata-static", layout))
			}
			if req.Arch == "host" {
				a, err := arch.Host()
				if err != nil {
					return err
				}
				req.Arch = a.Name
			}
			// katastatic's zero Epoch means "toolchain.yaml's": a set value must be positive.
			n, set, err := sourcedate.FromEnv()
			if err != nil || set && n <= 0 {
				return badInput(fmt.Errorf("%s=%q is not a positive number of seconds", sourcedate.Env, os.Getenv(sourcedate.Env)))
			}
			if set {
				req.Epoch = n
			}
			names, err := katastatic.Export(req)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d entries (kata-static, %s)\n", req.Out, len(names), req.Arch)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&layout, "layout", "", "the layout to export: kata-static")
	f.StringVar(&req.Dist, "dist", "dist", "the dist tree (dist/ of `make`, or a release's dist/<version>/)")
	f.StringVar(&req.Arch, "arch", "host", "the arch directory to export")
	f.StringVarP(&req.Out, "output", "o", "", "the tarball to write")
	f.StringVar(&req.Toolchain, "toolchain", "toolchain.yaml", "the checkout's manifest (epoch, distro)")
	f.StringVar(&req.KernelConfigs, "configs", "kernel-configs", "the checkout's kernel config fragments (which kernel is which variant)")
	f.StringVar(&req.Image, "image", "systemd", "the guestforge image installed as kata-containers.img (Kata's image runs systemd)")
	f.StringVar(&req.Initrd, "initrd", "default", "the guestforge image whose initrd is installed as kata-containers-initrd.img (agent as init)")
	f.StringVar(&req.ConfidentialImage, "confidential-image", "", "the image installed as kata-containers-confidential.img (none by default)")
	f.BoolVar(&req.TestAsDefault, "test-kernel-as-default", false, "install the test variant's kernel as vmlinu[xz].container when the tree has no default kernel (a `make` tree)")
	_ = cmd.MarkFlagRequired("layout")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
