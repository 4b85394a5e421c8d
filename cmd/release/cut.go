package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/build/cutbuild"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/version"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newCutCmd()) }

const cutLong = `Runs the stages in order, each recorded with the digests of what it wrote in
dist/<version>.release/state.json:
  policy   toolchain policy gate (as release policy check)
  build    the build matrix of the plan's arches (every target variant) through the
           Dagger pipelines into dist/<version>/, with dist/report.json and
           dist/report.html (needs an engine: eval "$(hack/airgap/engine.sh ensure)");
           --artifacts DIR imports what ` + "`dagger call all ... export --path=DIR`" + ` built instead
  attest   SBOMs, provenance, SHA256SUMS
  sign     a Sigstore bundle for SHA256SUMS and every file it lists
  publish  OCI artifacts per arch, an index, signatures; the version tag moves last
  verify   pull back by digest; signatures (--key: the public key; --keyless: the
           certificate identity and issuer, Rekor entry), checksums, provenance, SBOMs,
           QEMU boot
  notes    dist/<version>.release/notes.md
  tag      annotated git tag (pushed with --push REMOTE)
Nothing is published before everything is built and signed. After a failure fix the
cause and run again with --resume: finished stages are skipped once their files are
re-verified. A run after success does nothing. --dry-run prints the plan and what
every stage would do, and changes nothing.`

// cutFlags are the flags of `release cut`: what to release (releaseInputs, shared
// with `release plan`) and how to run, sign and publish it.
type cutFlags struct {
	in                         releaseInputs
	dryRun, resume, noBoot     bool
	until, distRoot, artifacts string
	images, push, githubRepo   string
	registry, publicKey        string
	identity, trustedRoot      string
	sign                       options.SignOptions
	reg                        options.RegistryOptions
	src                        options.SourceOptions
	prov                       options.ProvenanceOptions
}

func newCutCmd() *cobra.Command {
	var c cutFlags
	cmd := &cobra.Command{
		Use:   "cut",
		Short: "Cut the release `release plan` shows: policy, build, attest, sign, publish, verify, notes, tag",
		Long:  cutLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return c.run(cmd) },
	}
	c.addFlags(cmd)
	return cmd
}

func (c *cutFlags) addFlags(cmd *cobra.Command) {
	c.in.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&c.dryRun, "dry-run", false, "print the plan and what each stage would do; change nothing")
	f.BoolVar(&c.resume, "resume", false, "continue the cut in progress (of --version, or the only one under --dist)")
	f.StringVar(&c.until, "until", "", "stop after this stage ("+strings.Join(cut.Order, ", ")+")")
	f.StringVar(&c.distRoot, "dist", "", "dist root (default: dist in --repo)")
	f.StringVar(&c.artifacts, "artifacts", "", "build stage: import the artifacts `dagger call all ... export --path=DIR` wrote to DIR instead of building them here")
	f.StringVar(&c.images, "images", "", "image definitions, for the SBOMs' agent facts (default: images in --repo)")
	c.sign.AddFlags(f)
	f.StringVar(&c.publicKey, "public-key", "", "public key verify checks against (default: --key with .pub)")
	f.StringVar(&c.identity, "certificate-identity", "", "keyless: the workflow identity verify requires and users verify (default: from $GITHUB_WORKFLOW_REF)")
	f.StringVar(&c.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root JSON verify checks certificates against (default: the public-good root, over TUF)")
	f.StringVar(&c.registry, "registry", "", "REGISTRY/REPO to publish to (default: release.registry in toolchain.yaml)")
	c.reg.AddFlags(f)
	f.BoolVar(&c.noBoot, "no-boot", false, "verify without the QEMU boot")
	f.StringVar(&c.push, "push", "", "git remote to push the release tag to (default: tag locally only)")
	f.StringVar(&c.githubRepo, "github-repo", adapt.DefaultGitHubRepo, "owner/name for pull request links in the notes")
	c.src.AddFlags(f)
	c.prov.AddFlags(f)
}

func (c *cutFlags) run(cmd *cobra.Command) error {
	out := cmd.OutOrStdout()
	p, tc, err := c.planRelease(cmd)
	if err != nil || p == nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	stages, err := c.stages(tc, log)
	if err != nil {
		return badInput(err)
	}
	r := cut.NewRelease(p, c.in.repo, c.distRoot, tc)
	r.Out, r.Log = out, log
	fmt.Fprintln(out)
	res, err := cut.Run(cmd.Context(), r, stages, cut.Options{DryRun: c.dryRun, Resume: c.resume, Until: c.until})
	if err != nil {
		var se *cut.StageError
		if errors.As(err, &se) || errors.Is(err, cut.ErrDrift) {
			return violation(err)
		}
		return badInput(err)
	}
	c.printOutcome(out, r, res)
	return nil
}

// planRelease plans the release to cut (again as it began, with --resume) and
// prints the plan. A nil plan without an error means there is nothing to cut.
func (c *cutFlags) planRelease(cmd *cobra.Command) (*plan.Plan, *manifest.Toolchain, error) {
	tc, asOf, err := c.in.load()
	if err != nil {
		return nil, nil, badInput(err)
	}
	if c.distRoot == "" {
		c.distRoot = filepath.Join(c.in.repo, "dist")
	}
	if c.resume {
		if asOf, err = c.resumeFrom(); err != nil {
			return nil, nil, badInput(err)
		}
	}
	p, err := c.in.plan(cmd.Context(), tc, asOf)
	if err != nil {
		return nil, nil, badInput(err)
	}
	if err := p.WriteText(cmd.OutOrStdout()); err != nil {
		return nil, nil, badInput(err)
	}
	if !p.Nothing() {
		if len(p.Blockers) > 0 {
			return nil, nil, violation(errors.New("the release is blocked: fix what BLOCKED lists, then cut again"))
		}
		return p, tc, nil
	}
	st, err := cut.LoadState(c.distRoot, p.Decision.Tag)
	if err != nil {
		return nil, nil, badInput(err)
	}
	if p.Decision.Tag == "" || st == nil {
		fmt.Fprintln(cmd.OutOrStdout(), "\nNothing to cut.")
		return nil, nil, nil
	}
	// The tag exists at HEAD: finish (or confirm) the recorded cut.
	return p, tc, nil
}

// resumeFrom sets the version flags and returns the day the cut in progress
// began with, so it is planned again exactly as it began.
func (c *cutFlags) resumeFrom() (time.Time, error) {
	tag, st, err := inProgress(c.distRoot, c.in.flags.Version)
	if err != nil {
		return time.Time{}, err
	}
	c.in.flags = resumeFlags(tag, st)
	asOf, err := time.Parse(time.DateOnly, st.AsOf)
	if err != nil {
		return asOf, fmt.Errorf("%s: as_of %q: %w", cut.StatePath(c.distRoot, tag), st.AsOf, err)
	}
	return asOf, nil
}

// stages assembles the standard stages with the defaults the ci/ module's
// Release applies too (adapt.Defaults).
func (c *cutFlags) stages(tc *manifest.Toolchain, log *slog.Logger) ([]cut.Stage, error) {
	if c.images == "" {
		c.images = filepath.Join(c.in.repo, "images")
	}
	signing := &adapt.Signing{Key: c.sign.Key, Keyless: c.sign.Keyless}
	var builder cut.Builder
	if c.artifacts == "" {
		builder = cutbuild.Builder{Open: cutbuild.Local(log, nil), Heartbeat: 30 * time.Second}
	}
	cfg := adapt.Config{
		Policy: c.in.policy(), Builder: builder, Artifacts: c.artifacts, ImagesDir: c.images,
		Provenance: adapt.ProvenanceAttester{Repository: c.src.Source, BuilderID: c.prov.BuilderID, InvocationID: c.prov.InvocationID},
		Signing:    signing,
		Registry: &adapt.Registry{Repo: c.registry, Insecure: c.reg.Insecure, PublicKey: c.publicKey,
			TrustedRoot: c.trustedRoot, NoBoot: c.noBoot, Source: c.src.Source},
		Identity: c.identity, GitHubRepo: c.githubRepo, PushTag: c.push,
	}
	env := adapt.Env{SourceDateEpoch: os.Getenv(sourcedate.Env), WorkflowRef: os.Getenv("GITHUB_WORKFLOW_REF")}
	if err := adapt.Defaults(&cfg, tc, env); err != nil {
		return nil, err
	}
	return adapt.Stages(cfg)
}

// printOutcome tells what the run did and what to do next.
func (c *cutFlags) printOutcome(out io.Writer, r *cut.Release, res cut.Result) {
	switch {
	case c.dryRun:
		fmt.Fprint(out, adapt.DryRunSummary(res))
	case res.NoOp:
		fmt.Fprintf(out, "%s is already released: nothing to do.\n", r.Tag)
	case res.Stopped != "" && res.Stopped != cut.StageTag:
		fmt.Fprintf(out, "Stopped after %s as asked (--until); continue with `release cut --resume --version %s`.\n", res.Stopped, r.Tag)
	default:
		fmt.Fprintf(out, "Released %s: ran %s; skipped %s.\nNotes: %s\n", r.Tag,
			strings.Join(res.Ran, ", "), orNone(res.Skipped), cut.NotesPath(c.distRoot, r.Tag))
		if c.push == "" {
			fmt.Fprintf(out, "Push the tag: git push origin refs/tags/%s\n", r.Tag)
		}
	}
}

// inProgress finds the cut to resume: the named one, or the only one there is.
func inProgress(distRoot, tag string) (string, *cut.State, error) {
	if tag == "" {
		tags, err := cut.FindInProgress(distRoot, cut.Order)
		if err != nil {
			return "", nil, err
		}
		switch len(tags) {
		case 0:
			return "", nil, fmt.Errorf("--resume: no cut in progress under %s", distRoot)
		case 1:
			tag = tags[0]
		default:
			return "", nil, fmt.Errorf("--resume: cuts of %s are in progress under %s: say which with --version", strings.Join(tags, ", "), distRoot)
		}
	}
	st, err := cut.LoadState(distRoot, tag)
	if err != nil {
		return "", nil, err
	}
	if st == nil {
		return "", nil, fmt.Errorf("--resume: no cut of %s in progress (no %s)", tag, cut.StatePath(distRoot, tag))
	}
	return tag, st, nil
}

// resumeFlags are the version flags that lead the plan back to the recorded release.
func resumeFlags(tag string, st *cut.State) (f plan.Flags) {
	f.Version = tag
	switch version.Kind(st.Kind) {
	case version.KindMajorRC:
		f.Major = true
	case version.KindMajor:
		f.Major, f.Final = true, true
	}
	return f
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
