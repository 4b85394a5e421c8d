package options

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/internal/policy"
)

// ManifestOptions is the toolchain manifest. The value set before AddFlags is
// the default (toolchain.yaml unless the command derives it).
type ManifestOptions struct {
	Path string
	Help string
}

// AddFlags adds --manifest.
func (o *ManifestOptions) AddFlags(f *pflag.FlagSet) {
	help := o.Help
	if help == "" {
		help = "toolchain manifest; kernel-configs/, images/ and patches/ are read beside it"
	}
	f.StringVar(&o.Path, "manifest", o.Path, help)
}

// AsOfOptions is the day deprecations and the policy are judged on.
type AsOfOptions struct {
	AsOf string
}

// AddFlags adds --as-of.
func (o *AsOfOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.AsOf, "as-of", o.AsOf, "the day deprecations and the policy are judged on, YYYY-MM-DD (default: today, UTC)")
}

// Day parses --as-of (today, UTC, when unset).
func (o *AsOfOptions) Day() (time.Time, error) { return policy.ParseAsOf(o.AsOf) }
