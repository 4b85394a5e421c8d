package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/plan"
)

func init() { rootCmd.AddCommand(newPlanCmd()) }

// releaseInputs are the flags `release plan` and `release cut` share: what
// to release (repo, manifest, date) and how to choose the version.
type releaseInputs struct {
	repo, manifest, asOf string
	feeds, gomod         string
	timeout              time.Duration
	flags                plan.Flags
	// locks adds the package locks to the plan (`release plan`; a cut builds, and a
	// build checks them itself).
	locks bool
}

func (in *releaseInputs) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&in.repo, "repo", ".", "git checkout to release")
	f.StringVar(&in.manifest, "manifest", "", "toolchain manifest (default: toolchain.yaml in --repo)")
	f.StringVar(&in.asOf, "as-of", "", "date of evaluation, YYYY-MM-DD (default: today, UTC)")
	f.StringVar(&in.feeds, "feeds", "", "directory of upstream release feeds for the policy check (offline snapshot); default: fetch live")
	f.StringVar(&in.gomod, "gomod", "", "go.mod whose direct requirements the policy checks (default: go.mod in --repo, if any; \"none\" to skip)")
	f.DurationVar(&in.timeout, "timeout", 60*time.Second, "time limit for fetching live policy feeds")
	f.BoolVar(&in.flags.Patch, "patch", false, "a patch release X.Y.Z+1 of the latest release")
	f.BoolVar(&in.flags.Major, "major", false, "the next release candidate of the next major (vX.0.0-rc.N)")
	f.BoolVar(&in.flags.Final, "final", false, "with --major: the major itself, promoting its latest release candidate")
	f.StringVar(&in.flags.Version, "version", "", "an explicit vX.Y.Z; it must be a version the rules allow next")
}

// load resolves the defaults and loads the manifest.
func (in *releaseInputs) load() (*manifest.Toolchain, time.Time, error) {
	if in.manifest == "" {
		in.manifest = filepath.Join(in.repo, "toolchain.yaml")
	}
	if in.gomod == "" {
		if p := filepath.Join(in.repo, "go.mod"); fileExists(p) {
			in.gomod = p
		}
	}
	if in.gomod == "none" {
		in.gomod = ""
	}
	asOf, err := policy.ParseAsOf(in.asOf)
	if err != nil {
		return nil, asOf, err
	}
	tc, err := manifest.Load(in.manifest)
	if err != nil {
		return nil, asOf, err
	}
	return tc, asOf, nil
}

func (in *releaseInputs) policy() plan.Policy {
	src := (&policyInputs{feeds: in.feeds}).source()
	return plan.PolicyCheck{Source: src, GoMod: in.gomod}
}

func (in *releaseInputs) plan(ctx context.Context, tc *manifest.Toolchain, asOf time.Time) (*plan.Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	input := plan.Input{Repo: in.repo, Manifest: tc, AsOf: asOf, Flags: in.flags, Policy: in.policy()}
	if in.locks {
		input.Locks = plan.LockSurvey{Source: build.PreviewSource(in.feeds, tc.Distro.Mirror)}
	}
	return plan.Make(ctx, input)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

const planLong = `Works out the next release from the git tags, the date (--as-of) and toolchain.yaml:
a minor X.Y.0 each month on release.day, a patch with --patch, a major only with --major
(release candidates vX.0.0-rc.N first, then --major --final). Lists the commits since the
last tag by area and type with their PR numbers, runs the toolchain policy check, shows the
target matrix with support status (deprecations with their removal date, targets without a
maintainer), the artifacts the build will produce, and the package locks with their age and
what an update would change (from the mirror's signed index, or --feeds). Nothing is written.
Exit 0 when the release can be cut or there is nothing to do, 1 when something blocks it
(listed under BLOCKED), 2 when the inputs cannot be read.`

// planFlags are the flags of `release plan`.
type planFlags struct {
	in     releaseInputs
	format string
}

func newPlanCmd() *cobra.Command {
	var o planFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show the next release: version and why, changes, policy, targets, what will be built (changes nothing)",
		Long:  planLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.in.register(cmd)
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json (.decision.tag is the version)")
	return cmd
}

func (o *planFlags) run(cmd *cobra.Command) error {
	if o.format != "text" && o.format != "json" {
		return badInput(fmt.Errorf("--format %q: use text or json", o.format))
	}
	tc, asOf, err := o.in.load()
	if err != nil {
		return badInput(err)
	}
	o.in.locks = true
	p, err := o.in.plan(cmd.Context(), tc, asOf)
	if err != nil {
		return badInput(err)
	}
	if o.format == "json" {
		err = p.WriteJSON(cmd.OutOrStdout())
	} else {
		err = p.WriteText(cmd.OutOrStdout())
	}
	if err != nil {
		return badInput(err)
	}
	if len(p.Blockers) > 0 && !p.Nothing() {
		return violation(errors.New("the release is blocked: fix what BLOCKED lists, then plan again"))
	}
	return nil
}
