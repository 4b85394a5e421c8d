package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/build/cutbuild"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/version"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func init() { rootCmd.AddCommand(newCutCmd()) }

// githubIssuer is the OIDC issuer of GitHub Actions tokens.
const githubIssuer = "https://token.actions.githubusercontent.com"

func newCutCmd() *cobra.Command {
	var (
		in                            releaseInputs
		dryRun, resume, noBoot        bool
		keyless, insecure             bool
		until, distRoot, artifacts    string
		key, publicKey, registry      string
		push, githubRepo, images      string
		source, builderID, invocation string
		identity, trustedRoot         string
	)
	cmd := &cobra.Command{
		Use:   "cut",
		Short: "Cut the release `release plan` shows: policy, build, attest, sign, publish, verify, notes, tag",
		Long: `Runs the stages in order, each recorded with the digests of what it wrote in
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
every stage would do, and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			tc, asOf, err := in.load()
			if err != nil {
				return badInput(err)
			}
			if distRoot == "" {
				distRoot = filepath.Join(in.repo, "dist")
			}
			if resume {
				tag, st, err := inProgress(distRoot, in.flags.Version)
				if err != nil {
					return badInput(err)
				}
				// Plan again exactly as the cut began: same version, same day.
				in.flags = resumeFlags(tag, st)
				if asOf, err = time.Parse(time.DateOnly, st.AsOf); err != nil {
					return badInput(fmt.Errorf("%s: as_of %q: %w", cut.StatePath(distRoot, tag), st.AsOf, err))
				}
			}
			p, err := in.plan(ctx, tc, asOf)
			if err != nil {
				return badInput(err)
			}
			if err := p.WriteText(out); err != nil {
				return badInput(err)
			}
			if p.Nothing() {
				st, err := cut.LoadState(distRoot, p.Decision.Tag)
				if err != nil {
					return badInput(err)
				}
				if p.Decision.Tag == "" || st == nil {
					fmt.Fprintln(out, "\nNothing to cut.")
					return nil
				}
				// The tag exists at HEAD: finish (or confirm) the recorded cut.
			} else if len(p.Blockers) > 0 {
				return violation(errors.New("the release is blocked: fix what BLOCKED lists, then cut again"))
			}

			if images == "" {
				images = filepath.Join(in.repo, "images")
			}
			if registry == "" {
				registry = tc.Release.Registry
			}
			if publicKey == "" && key != "" {
				publicKey = strings.TrimSuffix(key, ".key") + ".pub"
			}
			if identity == "" && os.Getenv("GITHUB_WORKFLOW_REF") != "" {
				identity = "https://github.com/" + os.Getenv("GITHUB_WORKFLOW_REF")
			}
			created, err := adapt.Epoch(tc, os.Getenv(sourcedate.Env))
			if err != nil {
				return badInput(err)
			}
			signing := &adapt.Signing{Key: key, Keyless: keyless}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			var builder cut.Builder
			if artifacts == "" {
				builder = cutbuild.Builder{Open: cutbuild.Local(log, nil), Heartbeat: 30 * time.Second}
			}
			stages, err := adapt.Stages(adapt.Config{
				Policy: in.policy(), Builder: builder, Artifacts: artifacts, ImagesDir: images, Created: created,
				Provenance: adapt.ProvenanceAttester{Repository: source, BuilderID: builderID, InvocationID: invocation},
				Signing:    signing,
				Registry: &adapt.Registry{Repo: registry, Insecure: insecure, Signing: signing,
					PublicKey: publicKey, TrustedRoot: trustedRoot, NoBoot: noBoot, Source: source},
				Identity: identity, Issuer: githubIssuer, GitHubRepo: githubRepo, PushTag: push,
			})
			if err != nil {
				return badInput(err)
			}
			r := cut.NewRelease(p, in.repo, distRoot, tc)
			r.Out = out
			r.Log = log
			fmt.Fprintln(out)
			res, err := cut.Run(ctx, r, stages, cut.Options{DryRun: dryRun, Resume: resume, Until: until})
			if err != nil {
				var se *cut.StageError
				if errors.As(err, &se) || errors.Is(err, cut.ErrDrift) {
					return violation(err)
				}
				return badInput(err)
			}
			switch {
			case dryRun:
				fmt.Fprintf(out, "\nDry run complete: %d stages would run, %d are already done.\n", len(res.Ran), len(res.Skipped))
			case res.NoOp:
				fmt.Fprintf(out, "%s is already released: nothing to do.\n", r.Tag)
			case res.Stopped != "" && res.Stopped != cut.StageTag:
				fmt.Fprintf(out, "Stopped after %s as asked (--until); continue with `release cut --resume --version %s`.\n", res.Stopped, r.Tag)
			default:
				fmt.Fprintf(out, "Released %s: ran %s; skipped %s.\nNotes: %s\n", r.Tag,
					strings.Join(res.Ran, ", "), orNone(res.Skipped), cut.NotesPath(distRoot, r.Tag))
				if push == "" {
					fmt.Fprintf(out, "Push the tag: git push origin refs/tags/%s\n", r.Tag)
				}
			}
			return nil
		},
	}
	in.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and what each stage would do; change nothing")
	f.BoolVar(&resume, "resume", false, "continue the cut in progress (of --version, or the only one under --dist)")
	f.StringVar(&until, "until", "", "stop after this stage ("+strings.Join(cut.Order, ", ")+")")
	f.StringVar(&distRoot, "dist", "", "dist root (default: dist in --repo)")
	f.StringVar(&artifacts, "artifacts", "", "build stage: import the artifacts `dagger call all ... export --path=DIR` wrote to DIR instead of building them here")
	f.StringVar(&images, "images", "", "image definitions, for the SBOMs' agent facts (default: images in --repo)")
	f.StringVar(&key, "key", "", "cosign private key (password in $COSIGN_PASSWORD)")
	f.BoolVar(&keyless, "keyless", false, "sign keyless (GitHub Actions OIDC token, Fulcio, Rekor) instead of --key")
	f.StringVar(&publicKey, "public-key", "", "public key verify checks against (default: --key with .pub)")
	f.StringVar(&identity, "certificate-identity", "", "keyless: the workflow identity verify requires and users verify (default: from $GITHUB_WORKFLOW_REF)")
	f.StringVar(&trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root JSON verify checks certificates against (default: the public-good root, over TUF)")
	f.StringVar(&registry, "registry", "", "REGISTRY/REPO to publish to (default: release.registry in toolchain.yaml)")
	f.BoolVar(&insecure, "insecure", false, "plain HTTP to the registry (localhost always is)")
	f.BoolVar(&noBoot, "no-boot", false, "verify without the QEMU boot")
	f.StringVar(&push, "push", "", "git remote to push the release tag to (default: tag locally only)")
	f.StringVar(&githubRepo, "github-repo", "guestforge/guestforge", "owner/name for pull request links in the notes")
	f.StringVar(&source, "source", "https://github.com/guestforge/guestforge", "source repository URL recorded in provenance and annotations")
	f.StringVar(&builderID, "builder-id", "", "provenance builder id (in Actions: the workflow URL)")
	f.StringVar(&invocation, "invocation-id", "", "provenance invocation id (in Actions: the run URL)")
	return cmd
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
