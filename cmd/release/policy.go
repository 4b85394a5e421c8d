package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
)

func init() { rootCmd.AddCommand(newPolicyCmd()) }

// newPolicyCmd builds the command tree afresh each call, so tests can run
// it with their own flags and output buffers.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Gate toolchain.yaml and go.mod against the N-2 toolchain policy",
		Long: `The N-<lag> policy (policy.lag in toolchain.yaml): a pin may trail the newest
stable minor release upstream by at most lag minors. Go and Rust are read from their
release feeds, the kernel from kernel.org's releases.json (lag counts longterm series),
go.mod's direct requirements from the Go module proxy. A dated exception in
policy.exceptions lets one pin stay behind until its date.`,
	}
	cmd.AddCommand(newPolicyCheckCmd(), newPolicyBumpCmd(), newPolicySnapshotCmd())
	return cmd
}

// policyInputs are the flags every policy subcommand shares.
type policyInputs struct {
	manifest string
	gomod    string
	feeds    string
	asOf     string
	timeout  time.Duration
	goproxy  string
}

func (in *policyInputs) register(cmd *cobra.Command, withFeeds bool) {
	f := cmd.Flags()
	f.StringVar(&in.manifest, "manifest", "toolchain.yaml", "toolchain manifest")
	f.StringVar(&in.gomod, "gomod", "", "go.mod whose direct requirements are checked (default: go.mod beside the manifest, if any; \"none\" to skip)")
	if withFeeds {
		f.StringVar(&in.feeds, "feeds", "", "directory of upstream feeds (offline; testdata/feeds is a dated snapshot); default: fetch live")
		f.StringVar(&in.asOf, "as-of", "", "date of evaluation, YYYY-MM-DD (default: today, UTC)")
	}
	f.DurationVar(&in.timeout, "timeout", 60*time.Second, "overall time limit for fetching live feeds")
	f.StringVar(&in.goproxy, "goproxy", "", "module proxy for live version lists (default: first http(s) entry of $GOPROXY, else "+policy.DefaultGoProxy+")")
}

// loaded is what the subcommands work on.
type loaded struct {
	m     *manifest.Toolchain
	deps  []policy.Dependency
	feeds *policy.Feeds
	asOf  time.Time
	live  bool
}

func (in *policyInputs) loadManifest() (*manifest.Toolchain, []policy.Dependency, error) {
	m, err := manifest.Load(in.manifest)
	if err != nil {
		return nil, nil, badInput(err)
	}
	gomod := in.gomod
	explicit := gomod != ""
	if !explicit {
		gomod = filepath.Join(filepath.Dir(in.manifest), "go.mod")
	}
	if gomod == "none" {
		return m, nil, nil
	}
	deps, err := policy.LoadDirectDeps(gomod)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return m, nil, nil // no go.mod beside the manifest: nothing to check
		}
		return nil, nil, badInput(err)
	}
	return m, deps, nil
}

func (in *policyInputs) source() policy.Source {
	if in.feeds != "" {
		return policy.DirSource{Dir: in.feeds}
	}
	return policy.LiveSource{Client: &http.Client{Timeout: 30 * time.Second}, GoProxy: in.proxy()}
}

func (in *policyInputs) proxy() string {
	if in.goproxy != "" {
		return in.goproxy
	}
	for _, p := range strings.FieldsFunc(os.Getenv("GOPROXY"), func(r rune) bool { return r == ',' || r == '|' }) {
		if strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
			return p
		}
	}
	return policy.DefaultGoProxy
}

func (in *policyInputs) load(ctx context.Context) (*loaded, error) {
	asOf, err := policy.ParseAsOf(in.asOf)
	if err != nil {
		return nil, badInput(err)
	}
	m, deps, err := in.loadManifest()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	feeds, err := policy.LoadFeeds(ctx, in.source(), policy.NeedsFor(m, deps))
	if err != nil {
		if in.feeds == "" {
			return nil, badInput(fmt.Errorf("%w\nthe live feeds could not all be read; to run offline pass --feeds DIR (testdata/feeds holds a dated snapshot; `release policy snapshot --out DIR` makes a fresh one where the network allows)", err))
		}
		return nil, badInput(err)
	}
	return &loaded{m: m, deps: deps, feeds: feeds, asOf: asOf, live: in.feeds == ""}, nil
}

func newPolicyCheckCmd() *cobra.Command {
	var in policyInputs
	var format string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check every pin against upstream releases (exit 0 ok or warnings, 1 violation, 2 bad input)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format %q: use table or json", format))
			}
			l, err := in.load(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := policy.Check(l.m, l.deps, l.feeds, l.asOf)
			if err != nil {
				return badInput(err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteTable(out)
			}
			if err != nil {
				return badInput(fmt.Errorf("write report: %w", err))
			}
			if v := rep.ViolationNames(); len(v) > 0 {
				return violation(fmt.Errorf("%d pin(s) outside the N-%d policy: %s (see WHY above; `release policy bump` proposes the edits)",
					len(v), rep.Lag, strings.Join(v, ", ")))
			}
			return nil
		},
	}
	in.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

const policyBumpLong = `Go and Rust pins move to the newest stable release; --write edits them in
toolchain.yaml in place (comments, order and quoting kept) and drops the exceptions
they no longer need. The kernel moves to the newest patch of its series and go.mod
requirements to the newest release of their major: those are shown with what to do
(url and sha256 change with the kernel; go get for modules) and are never written.`

// policyBump are the flags of `release policy bump`.
type policyBump struct {
	in     policyInputs
	write  bool
	format string
}

func newPolicyBumpCmd() *cobra.Command {
	var o policyBump
	cmd := &cobra.Command{
		Use:   "bump",
		Short: "Show (or --write) the edits that move every pin to the newest stable release",
		Long:  policyBumpLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.in.register(cmd, true)
	cmd.Flags().BoolVar(&o.write, "write", false, "edit the manifest in place")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func (o *policyBump) run(cmd *cobra.Command) error {
	if o.format != "text" && o.format != "json" {
		return badInput(fmt.Errorf("--format %q: use text or json", o.format))
	}
	l, err := o.in.load(cmd.Context())
	if err != nil {
		return err
	}
	plan, err := policy.Bump(l.m, l.deps, l.feeds, l.asOf)
	if err != nil {
		return badInput(err)
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		err = plan.WriteJSON(out)
	} else {
		err = plan.WriteText(out)
	}
	if err != nil {
		return badInput(fmt.Errorf("write plan: %w", err))
	}
	if !o.write {
		return nil
	}
	return o.rewrite(cmd, plan, l.m)
}

// rewrite applies the plan's Go and Rust edits to the manifest in place.
func (o *policyBump) rewrite(cmd *cobra.Command, plan *policy.Plan, m *manifest.Toolchain) error {
	rw := plan.Rewrite()
	if len(rw.Edits) == 0 && len(rw.DropExceptions) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: nothing for --write to change\n", o.in.manifest)
		return nil
	}
	data, err := rw.Apply(o.in.manifest, m.Source)
	if err != nil {
		return badInput(err)
	}
	if err := manifest.WriteInPlace(o.in.manifest, data); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d version edit(s), %d exception(s) dropped\n", o.in.manifest, len(rw.Edits), len(rw.DropExceptions))
	return nil
}

func newPolicySnapshotCmd() *cobra.Command {
	var in policyInputs
	var out string
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Fetch the live feeds the manifest and go.mod need into a directory (for --feeds)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return badInput(fmt.Errorf("--out DIR is required"))
			}
			m, deps, err := in.loadManifest()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), in.timeout)
			defer cancel()
			files, err := policy.Snapshot(ctx, in.source(), policy.NeedsFor(m, deps), out)
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", f)
			}
			if err != nil {
				return badInput(err)
			}
			return nil
		},
	}
	in.register(cmd, false)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the feeds into")
	return cmd
}
