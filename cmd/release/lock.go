package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/pkglock"
)

func init() { rootCmd.AddCommand(newLockCmd()) }

const lockLong = `Resolves the package locks builds install from: builders/seed.lock (the seed the
builder images are made in), builders/<name>.lock for each builders: entry of
toolchain.yaml, and images/<name>.lock for each image a target lists, with a section per
architecture. Each lock lists every package with its version, architecture, priority,
size, sha256 and pool file, and the InRelease date of the suite it was resolved against;
a build installs exactly that set and verifies every .deb against it.

Without --update only missing and stale locks (whose definition changed) are resolved;
--update refreshes current ones too: the monthly refresh. --image and --builder (each
repeatable; --builder seed is the seed) restrict the run to those locks, plus the seed and
rootfs builder locks they are resolved in when those are not current. Each lock is written
as soon as it is resolved; review the diff (git diff images/ builders/) and commit.

--dry-run needs no engine and writes nothing: it lists each lock's state and age and what
an update would change, from the mirror's signed index. It exits 1 when a lock is missing,
stale or broken (a build would refuse it).

It needs a Dagger engine (except --dry-run): on a host without one, run
eval "$(hack/airgap/engine.sh ensure)" first.
Exit 1 when a lock needs resolving (--dry-run) or resolving failed, 2 for bad flags or inputs.`

type lockFlags struct {
	req      build.LockRequest
	asOf     options.AsOfOptions
	verbose  bool
	images   []string
	builders []string
}

func newLockCmd() *cobra.Command {
	o := lockFlags{req: build.LockRequest{Root: "."}}
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Resolve the package locks of the builder images and rootfs images (--dry-run: their state and what an update would change)",
		Long:  lockLong,
		Example: `  release lock --dry-run               # state, age and a preview of every lock
  release lock                         # resolve missing and stale locks
  release lock --update                # the monthly refresh of every lock
  release lock --update --image default`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.req.Root, "repo", ".", "the checkout whose locks to resolve (its toolchain.yaml, images/ and builders/)")
	f.BoolVar(&o.req.Update, "update", false, "re-resolve current locks too (a refresh against today's mirror)")
	f.StringSliceVar(&o.images, "image", nil, "only this image's lock (repeatable)")
	f.StringSliceVar(&o.builders, "builder", nil, "only this builder's lock; seed is the seed (repeatable)")
	f.BoolVar(&o.req.DryRun, "dry-run", false, "show each lock's state, age and what an update would change; no engine, nothing written")
	f.StringVar(&o.req.Feeds, "feeds", "", "--dry-run: preview the update from this directory of release feeds (debian/dists/<suite>/, as the mirror lays it out) instead of the live mirror")
	f.BoolVar(&o.verbose, "verbose", false, "the engine's progress on stderr")
	o.asOf.AddFlags(f)
	return cmd
}

func (o *lockFlags) run(cmd *cobra.Command) error {
	req := o.req
	req.Images, req.Builders = o.images, o.builders
	day, err := o.asOf.Day()
	if err != nil {
		return badInput(err)
	}
	req.AsOf = day
	if req.Feeds != "" && !req.DryRun {
		return badInput(errors.New("--feeds only previews (--dry-run): a lock is resolved from the verified live mirror"))
	}
	req.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	if o.verbose {
		req.Progress = cmd.ErrOrStderr()
	}
	res, err := build.ResolveLocks(cmd.Context(), req)
	if res != nil {
		printLocks(cmd.OutOrStdout(), res, req.DryRun, err == nil)
	}
	if err != nil {
		return buildExit(err)
	}
	if req.DryRun {
		for _, s := range res.Statuses {
			if s.State != pkglock.StateCurrent {
				return violation(errors.New("a lock is not current: run `release lock` (or the command its line names), review the diff and commit it"))
			}
		}
	}
	return nil
}

func printLocks(w io.Writer, res *build.LockResult, dryRun, ok bool) {
	if dryRun || len(res.Resolved) == 0 {
		for _, s := range res.Statuses {
			fmt.Fprintln(w, s.Summary())
			for _, d := range s.Details() {
				fmt.Fprintln(w, "  "+d)
			}
		}
	}
	if ok && !dryRun && len(res.Resolved) == 0 {
		fmt.Fprintln(w, "every lock is current: nothing resolved (--update refreshes them)")
	}
	for _, r := range res.Resolved {
		switch {
		case r.Created:
			fmt.Fprintf(w, "%s: written (new, %d packages)\n", r.Path, len(r.Changes))
			continue // every package is new: the file itself is the list
		case len(r.Changes) == 0:
			fmt.Fprintf(w, "%s: written, no package changed\n", r.Path)
		default:
			fmt.Fprintf(w, "%s: written, %s\n", r.Path, pkglock.Summary(r.Changes))
		}
		for _, c := range r.Changes {
			fmt.Fprintln(w, "  "+c.String())
		}
	}
}
