package options

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/pflag"
)

// RegistryOptions are how the registry is reached.
type RegistryOptions struct {
	Insecure bool
}

// AddFlags adds --insecure.
func (o *RegistryOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.Insecure, "insecure", false, "talk plain HTTP to the registry (localhost and 127.0.0.1 always do)")
}

// NameOpts are the options references are parsed with.
func (o *RegistryOptions) NameOpts() []name.Option {
	if o.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// RemoteOpts authenticate from the Docker config (~/.docker/config.json).
func (o *RegistryOptions) RemoteOpts() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}
