// Package options holds the flag groups the subcommands of `release` share, each a
// struct with an AddFlags(*pflag.FlagSet) method, in the shape of cosign's
// cmd/cosign/cli/options: a concept has one flag name in every command, and one
// help text.
//
// The vocabulary (docs/architecture.md, Flag vocabulary, lists it with the Dagger
// functions' names):
//
//	--arch            architecture; repeatable (or comma-separated) where a command builds several
//	--kernel-variant  kernel config variant (test, default, a kernel-configs/variants/ name, or "targets")
//	--kernel-archive  a local copy of the pinned kernel archive
//	--manifest        toolchain.yaml
//	--as-of           the day deprecations and policy are judged on
//	--source          the source repository URL recorded in provenance and annotations
//
// Names a command used before (--arches, --variant, --repo of attest, --toolchain of
// export) stay as deprecated aliases: scripts keep working, with a warning.
package options

import "github.com/spf13/pflag"

// Alias adds old as a deprecated alias of the flag new, bound to the same value, so
// a script that still says --old keeps working and is told the new name.
func Alias(f *pflag.FlagSet, old, new string) {
	nf := f.Lookup(new)
	f.Var(nf.Value, old, nf.Usage)
	// MarkDeprecated fails only for a flag that does not exist; old was just added.
	_ = f.MarkDeprecated(old, "use --"+new)
}

// Changed reports whether the flag name, or any deprecated alias bound to it, was
// given.
func Changed(f *pflag.FlagSet, name string) bool {
	nf := f.Lookup(name)
	changed := false
	f.VisitAll(func(g *pflag.Flag) {
		if g.Value == nf.Value && g.Changed {
			changed = true
		}
	})
	return changed
}
