package main

// The release function: `release cut` run inside the pipeline, so the release workflow
// and a release manager's laptop run the same stages.
//
//	dagger call release --version=v2026.12.0 --plan=plan.json --dry-run export --path=dist
//	dagger call release --version=v2026.12.0 --plan=plan.json --key=file:cosign.key \
//	    --key-password=env:COSIGN_PASSWORD --public-key=cosign.pub export --path=dist

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	lib "dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/guestforge/guestforge/ci/internal/dagger"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/build/cutbuild"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/cut/adapt"
	relplan "github.com/guestforge/guestforge/internal/release/plan"
)

// Release cuts the release a `release plan --format json` decided: policy gate, the
// build matrix of every planned arch and target variant (in this engine session),
// SBOMs + provenance + SHA256SUMS, signatures, publish, verify and notes: the stages
// of `release cut`, stopping before the git tag (--until), which needs the checkout
// and push rights the workflow has. Returns the dist directory: <version>/ (the
// signed tree), <version>.release/ (state and notes, for `release cut --resume`),
// report.json, report.html and logs/. A dry run returns <version>.dry-run.txt, what
// every stage would do, and changes nothing.
func (m *Guestforge) Release(
	ctx context.Context,
	// the version the plan decided, vX.Y.Z; a different plan is refused
	version string,
	// `release plan --format json` of a checkout with its tags (the module's source has no .git)
	plan *dagger.File,
	// print what every stage would do; build, sign and publish nothing
	// +optional
	dryRun bool,
	// REGISTRY/REPO to publish to (default: release.registry of toolchain.yaml)
	// +optional
	registry string,
	// registry user name
	// +optional
	registryUsername string,
	// registry password or token
	// +optional
	registryPassword *dagger.Secret,
	// plain HTTP to the registry (a local test registry)
	// +optional
	insecure bool,
	// cosign private key (cosign.key), instead of --keyless
	// +optional
	key *dagger.Secret,
	// the password of --key
	// +optional
	keyPassword *dagger.Secret,
	// cosign.pub: what verify checks the key signatures against (needed with --key)
	// +optional
	publicKey *dagger.File,
	// sign keyless: a Fulcio certificate for the workflow's OIDC identity, Rekor entries
	// +optional
	keyless bool,
	// keyless in GitHub Actions: $ACTIONS_ID_TOKEN_REQUEST_TOKEN
	// +optional
	oidcRequestToken *dagger.Secret,
	// keyless in GitHub Actions: $ACTIONS_ID_TOKEN_REQUEST_URL
	// +optional
	oidcRequestUrl *dagger.Secret,
	// keyless: the workflow identity users verify (https://github.com/OWNER/REPO/.github/workflows/release.yaml@refs/...)
	// +optional
	certificateIdentity string,
	// provenance builder id (in Actions: the workflow URL)
	// +optional
	builderId string,
	// provenance invocation id (in Actions: the run URL)
	// +optional
	invocationId string,
	// upstream release feeds for the policy gate, laid out as testdata/feeds (offline); default: fetched live
	// +optional
	feeds *dagger.Directory,
	// boot every kernel under QEMU in verify (needs qemu-system-* in the module's runtime container, which the Go SDK image lacks)
	// +optional
	boot bool,
	// stop after this stage
	// +default="notes"
	until string,
	// source repository URL recorded in provenance and annotations
	// +default="https://github.com/guestforge/guestforge"
	source string,
	// owner/name for pull request links in the notes
	// +default="guestforge/guestforge"
	githubRepo string,
	// the attestations' creation time, as $SOURCE_DATE_EPOCH for `release cut` (default: toolchain.yaml's epoch)
	// +optional
	sourceDateEpoch string,
) (*dagger.Directory, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	work, err := os.MkdirTemp("", "guestforge-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	r, err := m.releaseCheckout(ctx, work, version, plan)
	if err != nil {
		return nil, err
	}
	signing, err := releaseSigning(ctx, key, keyPassword, keyless, oidcRequestToken, oidcRequestUrl)
	if err != nil {
		return nil, err
	}
	reg := &adapt.Registry{Repo: registry, Insecure: insecure, Signing: signing, NoBoot: !boot, Source: source}
	if err := releaseRegistry(ctx, reg, work, registryUsername, registryPassword, publicKey); err != nil {
		return nil, err
	}
	src, err := policySource(ctx, feeds, filepath.Join(work, "feeds"))
	if err != nil {
		return nil, err
	}
	cfg := adapt.Config{
		Policy: relplan.PolicyCheck{Source: src, GoMod: filepath.Join(r.Repo, "go.mod")}, Builder: m.cutBuilder(log),
		ImagesDir:  filepath.Join(r.Repo, build.ImagesDir),
		Provenance: adapt.ProvenanceAttester{Repository: source, BuilderID: builderId, InvocationID: invocationId},
		Signing:    signing, Registry: reg, Identity: certificateIdentity, GitHubRepo: githubRepo,
	}
	// The caller's $GITHUB_WORKFLOW_REF does not reach this container: keyless
	// runs pass --certificate-identity.
	if err := adapt.Defaults(&cfg, r.Manifest, adapt.Env{SourceDateEpoch: sourceDateEpoch}); err != nil {
		return nil, err
	}
	if err := runRelease(ctx, r, cfg, dryRun, until, log); err != nil {
		return nil, err
	}
	return m.hostDirectory(ctx, r.DistRoot)
}

// releaseCheckout exports the checkout as the stages read it under work: the
// manifest (planned, hashed, attested), go.mod (policy gate), images/ (SBOM
// agent facts) and kernel-configs/ (which kernel a measured target's
// reference values are of), and returns the release of the plan, which must be version's.
func (m *Guestforge) releaseCheckout(ctx context.Context, work, version string, plan *dagger.File) (*cut.Release, error) {
	planJSON, err := plan.Contents(ctx)
	if err != nil {
		return nil, err
	}
	p, err := relplan.ReadJSON(strings.NewReader(planJSON))
	if err != nil {
		return nil, err
	}
	if p.Decision.Tag != version {
		return nil, fmt.Errorf("--version %s, but the plan releases %q: pass the plan `release plan --version %s --format json` printed", version, p.Decision.Tag, version)
	}
	repoDir, distDir := filepath.Join(work, "repo"), filepath.Join(work, "dist")
	for _, f := range []string{build.ToolchainFile, "go.mod"} {
		if _, err := m.Source.File(f).Export(ctx, filepath.Join(repoDir, f)); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{build.ImagesDir, build.ConfigsDir} {
		if _, err := m.Source.Directory(d).Export(ctx, filepath.Join(repoDir, d)); err != nil {
			return nil, err
		}
	}
	tc, err := manifest.Load(filepath.Join(repoDir, build.ToolchainFile))
	if err != nil {
		return nil, err
	}
	return cut.NewRelease(p, repoDir, distDir, tc), nil
}

// releaseSigning unwraps the signing secrets into this process's memory.
func releaseSigning(ctx context.Context, key, keyPassword *dagger.Secret, keyless bool, oidcToken, oidcURL *dagger.Secret) (*adapt.Signing, error) {
	signing := &adapt.Signing{Keyless: keyless}
	var err error
	if key != nil {
		if signing.KeyPEM, err = plaintext(ctx, key); err != nil {
			return nil, err
		}
		if keyPassword != nil {
			if signing.Password, err = plaintext(ctx, keyPassword); err != nil {
				return nil, err
			}
		}
	}
	if !keyless {
		return signing, nil
	}
	// The OIDC provider of sigstore reads the Actions token request from the
	// environment: this process's own, gone when the function returns.
	for env, s := range map[string]*dagger.Secret{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": oidcToken, "ACTIONS_ID_TOKEN_REQUEST_URL": oidcURL} {
		if s == nil {
			continue
		}
		v, err := plaintext(ctx, s)
		if err != nil {
			return nil, err
		}
		os.Setenv(env, string(v))
	}
	return signing, nil
}

// releaseRegistry adds the registry credentials and the public key verify
// checks against (exported under work).
func releaseRegistry(ctx context.Context, reg *adapt.Registry, work, username string, password *dagger.Secret, publicKey *dagger.File) error {
	if password != nil {
		pw, err := plaintext(ctx, password)
		if err != nil {
			return err
		}
		reg.Remote = []remote.Option{remote.WithAuth(&authn.Basic{Username: username, Password: string(pw)})}
	}
	if publicKey != nil {
		reg.PublicKey = filepath.Join(work, "cosign.pub")
		if _, err := publicKey.Export(ctx, reg.PublicKey); err != nil {
			return err
		}
	}
	return nil
}

// cutBuilder builds the release matrix in a session of this function's engine.
func (m *Guestforge) cutBuilder(log *slog.Logger) cutbuild.Builder {
	return cutbuild.Builder{Heartbeat: 30 * time.Second, Open: func(ctx context.Context, _ *cut.Release) (*cutbuild.Session, error) {
		s, err := m.session(ctx, nil)
		if err != nil {
			return nil, err
		}
		s.pipeline.Log = log
		return &cutbuild.Session{Pipeline: s.pipeline, Repo: s.repo, Close: s.client.Close}, nil
	}}
}

// runRelease runs the stages; a dry run leaves <version>.dry-run.txt in the
// dist directory, what every stage would do.
func runRelease(ctx context.Context, r *cut.Release, cfg adapt.Config, dryRun bool, until string, log *slog.Logger) error {
	stages, err := adapt.Stages(cfg)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	r.Out, r.Log = &out, log
	res, err := cut.Run(ctx, r, stages, cut.Options{DryRun: dryRun, Until: until})
	os.Stderr.Write(out.Bytes())
	if err != nil {
		return err
	}
	if dryRun {
		out.WriteString(adapt.DryRunSummary(res))
		if err := os.MkdirAll(r.DistRoot, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.DistRoot, r.Tag+".dry-run.txt"), out.Bytes(), 0o644); err != nil {
			return err
		}
	}
	log.Info("release", "version", r.Tag, "ran", res.Ran, "stopped", res.Stopped)
	return nil
}

// plaintext reads a secret for a library that needs the bytes (signing, registry
// auth); it stays in this process's memory.
func plaintext(ctx context.Context, s *dagger.Secret) ([]byte, error) {
	v, err := s.Plaintext(ctx)
	return []byte(v), err
}

// hostDirectory hands a directory of this process's filesystem back to the caller
// by ID, evaluated now, while the process and its files still exist.
func (m *Guestforge) hostDirectory(ctx context.Context, dir string) (*dagger.Directory, error) {
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	d, err := c.Host().Directory(dir).Sync(ctx)
	if err != nil {
		return nil, err
	}
	id, err := d.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}
