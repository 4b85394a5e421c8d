package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/katastatic"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newExportCmd()) }

const exportLong = `kata-static writes the tree kata-deploy installs, /opt/kata/share/kata-containers/ with
Kata's file names and symlinks (vmlinux.container, kata-containers.img,
kata-containers-initrd.img, root_hash_base.txt, ...), as an uncompressed, byte-reproducible
tarball: sorted, uid/gid 0, every mtime $SOURCE_DATE_EPOCH (else toolchain.yaml's epoch).
Kernels are named by the kernel-configs variant whose config id they carry; docs/kata.md
lists every name.`

// exportFlags are the flags of `release export`.
type exportFlags struct {
	layout   string
	arch     options.ArchOptions
	manifest options.ManifestOptions
	req      katastatic.Request
}

func newExportCmd() *cobra.Command {
	o := exportFlags{arch: options.ArchOptions{Arch: "host"},
		manifest: options.ManifestOptions{Path: "toolchain.yaml", Help: "the checkout's manifest (epoch, distro)"}}
	cmd := &cobra.Command{
		Use:   "export --layout kata-static -o FILE",
		Short: "Export one arch of a dist tree in another project's layout (kata-deploy's)",
		Long:  exportLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.layout, "layout", "", "the layout to export: kata-static")
	f.StringVar(&o.req.Dist, "dist", "dist", "the dist tree (dist/ of `make`, or a release's dist/<version>/)")
	o.arch.AddFlags(f)
	f.StringVarP(&o.req.Out, "output", "o", "", "the tarball to write")
	o.manifest.AddFlags(f)
	// --toolchain was this command's name for what every other command calls --manifest.
	options.Alias(f, "toolchain", "manifest")
	f.StringVar(&o.req.KernelConfigs, "configs", "kernel-configs", "the checkout's kernel config fragments (which kernel is which variant)")
	f.StringVar(&o.req.Image, "image", "systemd", "the guestforge image installed as kata-containers.img (Kata's image runs systemd)")
	f.StringVar(&o.req.Initrd, "initrd", "default", "the guestforge image whose initrd is installed as kata-containers-initrd.img (agent as init)")
	f.StringVar(&o.req.ConfidentialImage, "confidential-image", "", "the image installed as kata-containers-confidential.img (none by default)")
	f.BoolVar(&o.req.TestAsDefault, "test-kernel-as-default", false, "install the test variant's kernel as vmlinu[xz].container when the tree has no default kernel (a `make` tree)")
	_ = cmd.MarkFlagRequired("layout")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func (o *exportFlags) run(cmd *cobra.Command) error {
	if o.layout != "kata-static" {
		return badInput(fmt.Errorf("unknown --layout %q: the one export layout is kata-static", o.layout))
	}
	req := o.req
	req.Arch, req.Toolchain = o.arch.Arch, o.manifest.Path
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
}
