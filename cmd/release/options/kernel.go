package options

import (
	"os"

	"github.com/spf13/pflag"
)

// KernelVariantOptions is the kernel config variant. The value set before
// AddFlags is the default; Help says what the variant selects in this command.
type KernelVariantOptions struct {
	Variant string
	Help    string
}

// AddFlags adds --kernel-variant and its deprecated alias --variant.
func (o *KernelVariantOptions) AddFlags(f *pflag.FlagSet) {
	help := o.Help
	if help == "" {
		help = "kernel config variant: test (smallest bootable), default, or a kernel-configs/variants/ name"
	}
	f.StringVar(&o.Variant, "kernel-variant", o.Variant, help)
	Alias(f, "variant", "kernel-variant")
}

// Changed reports whether the user chose a variant (under either name).
func (o *KernelVariantOptions) Changed(f *pflag.FlagSet) bool { return Changed(f, "kernel-variant") }

// KernelArchiveEnv names the default of --kernel-archive.
const KernelArchiveEnv = "GUESTFORGE_KERNEL_ARCHIVE"

// KernelArchiveOptions is a local copy of the pinned kernel archive, for hosts
// that cannot download it.
type KernelArchiveOptions struct {
	Archive string
}

// AddFlags adds --kernel-archive, defaulting to $GUESTFORGE_KERNEL_ARCHIVE.
func (o *KernelArchiveOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Archive, "kernel-archive", os.Getenv(KernelArchiveEnv), "local copy of the pinned kernel archive for offline hosts (must match kernel.sha256; default $"+KernelArchiveEnv+")")
}
