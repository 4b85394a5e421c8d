package options

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/internal/arch"
)

// ArchOptions is the one architecture a command works on. The value set before
// AddFlags is the default ("host", or "" where the command requires one).
type ArchOptions struct {
	Arch string
}

// AddFlags adds --arch.
func (o *ArchOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Arch, "arch", o.Arch, "architecture: "+strings.Join(arch.Names(), ", ")+" or host (this machine's)")
}

// Resolve parses the arch, "host" (and "" when empty means the host's) as this
// machine's.
func (o *ArchOptions) Resolve() (arch.Arch, error) {
	if o.Arch == "" || o.Arch == "host" {
		return arch.Host()
	}
	return arch.Parse(o.Arch)
}

// ArchesOptions are the architectures a command builds.
type ArchesOptions struct {
	Arches []string
}

// AddFlags adds --arch (repeatable, comma-separated) and its deprecated alias
// --arches.
func (o *ArchesOptions) AddFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&o.Arches, "arch", o.Arches, "architectures to build, repeatable or comma-separated (default: this machine's)")
	Alias(f, "arches", "arch")
}

// OrHost is the architectures given, else this machine's.
func (o *ArchesOptions) OrHost() ([]string, error) {
	if len(o.Arches) > 0 {
		return o.Arches, nil
	}
	a, err := arch.Host()
	if err != nil {
		return nil, err
	}
	return []string{a.Name}, nil
}
