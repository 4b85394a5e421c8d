package options

import (
	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/internal/release/cut/adapt"
)

// SourceOptions is the source repository URL provenance and the image source
// annotation record.
type SourceOptions struct {
	Source string
}

// AddFlags adds --source.
func (o *SourceOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Source, "source", adapt.DefaultSource, "source repository URL recorded in provenance and the org.opencontainers.image.source annotation")
}

// ProvenanceOptions identify the build platform and the run in provenance.
type ProvenanceOptions struct {
	BuilderID, InvocationID string
}

// AddFlags adds --builder-id and --invocation-id.
func (o *ProvenanceOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.BuilderID, "builder-id", "", "provenance builder id (in Actions: the workflow URL)")
	f.StringVar(&o.InvocationID, "invocation-id", "", "provenance invocation id (in Actions: the run URL)")
}
