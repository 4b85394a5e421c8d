package main

// The release function: `release cut` run inside the pipeline, so the release workflow
// and a release manager's laptop run the same stages. `release` names the release, the
// with-* functions add how to publish, sign and attest it, and `cut` runs it; a flag
// `release cut` has keeps its name (docs/architecture.md, Flag vocabulary):
//
//	dagger call release --version=v2026.12.0 --plan=plan.json cut --dry-run export --path=dist
//	dagger call release --version=v2026.12.0 --plan=plan.json \
//	    with-key --key=file:cosign.key --key-password=env:COSIGN_PASSWORD --public-key=cosign.pub \
//	    cut export --path=dist
//	dagger call release --version=v2026.12.0 --plan=plan.json \
//	    with-registry --registry-username=USER --registry-password=env:REGISTRY_PASSWORD \
//	    with-keyless --oidc-request-token=env:ACTIONS_ID_TOKEN_REQUEST_TOKEN \
//	        --oidc-request-url=env:ACTIONS_ID_TOKEN_REQUEST_URL --certificate-identity=IDENTITY \
//	    with-provenance --builder-id=WORKFLOW_URL --invocation-id=RUN_URL \
//	    cut --until=notes export --path=dist

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

// Release names the release to cut: the version a `release plan --format json` decided,
// that plan, and how the release describes itself. Chain with-registry, with-key or
// with-keyless, with-provenance, and then cut, which runs the stages of `release cut`.
func (m *Guestforge) Release(
	// the version the plan decided, vX.Y.Z; a different plan is refused
	version string,
	// `release plan --format json` of a checkout with its tags (the module's source has no .git)
	plan *dagger.File,
	// upstream release feeds for the policy gate, laid out as testdata/feeds (offline); default: fetched live
	// +optional
	feeds *dagger.Directory,
	// source repository URL recorded in provenance and annotations
	// +default="https://github.com/guestforge/guestforge"
	source string,
	// owner/name for pull request links in the notes
	// +default="guestforge/guestforge"
	githubRepo string,
	// the attestations' creation time, as $SOURCE_DATE_EPOCH for `release cut` (default: toolchain.yaml's epoch)
	// +optional
	sourceDateEpoch string,
) *ReleaseCut {
	return &ReleaseCut{Checkout: m.Source, Version: version, Plan: plan, Feeds: feeds,
		Source: source, GithubRepo: githubRepo, SourceDateEpoch: sourceDateEpoch}
}

// ReleaseCut is a release to cut: what Release names and what the with-* functions
// add, the options of `release cut`. The fields are private to the API: the functions
// are the one way to set them, Cut the one reader.
type ReleaseCut struct {
	Checkout        *dagger.Directory // +private
	Version         string            // +private
	Plan            *dagger.File      // +private
	Feeds           *dagger.Directory // +private
	Source          string            // +private
	GithubRepo      string            // +private
	SourceDateEpoch string            // +private

	Registry         string         // +private
	RegistryUsername string         // +private
	RegistryPassword *dagger.Secret // +private
	Insecure         bool           // +private

	Key                 *dagger.Secret // +private
	KeyPassword         *dagger.Secret // +private
	PublicKey           *dagger.File   // +private
	Keyless             bool           // +private
	OidcRequestToken    *dagger.Secret // +private
	OidcRequestUrl      *dagger.Secret // +private
	CertificateIdentity string         // +private

	BuilderId    string // +private
	InvocationId string // +private
}

// WithRegistry publishes to a registry other than toolchain.yaml's, or with credentials.
func (r *ReleaseCut) WithRegistry(
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
) *ReleaseCut {
	c := *r
	c.Registry, c.RegistryUsername, c.RegistryPassword, c.Insecure = registry, registryUsername, registryPassword, insecure
	return &c
}

// WithKey signs with a cosign key pair, instead of with-keyless.
func (r *ReleaseCut) WithKey(
	// cosign private key (cosign.key)
	key *dagger.Secret,
	// the password of --key
	// +optional
	keyPassword *dagger.Secret,
	// cosign.pub: what verify checks the key signatures against (needed to verify)
	// +optional
	publicKey *dagger.File,
) *ReleaseCut {
	c := *r
	c.Key, c.KeyPassword, c.PublicKey = key, keyPassword, publicKey
	return &c
}

// WithKeyless signs keyless: a Fulcio certificate for the workflow's OIDC identity,
// Rekor entries.
func (r *ReleaseCut) WithKeyless(
	// in GitHub Actions: $ACTIONS_ID_TOKEN_REQUEST_TOKEN
	// +optional
	oidcRequestToken *dagger.Secret,
	// in GitHub Actions: $ACTIONS_ID_TOKEN_REQUEST_URL
	// +optional
	oidcRequestUrl *dagger.Secret,
	// the workflow identity users verify (https://github.com/OWNER/REPO/.github/workflows/release.yaml@refs/...)
	// +optional
	certificateIdentity string,
) *ReleaseCut {
	c := *r
	c.Keyless, c.OidcRequestToken, c.OidcRequestUrl, c.CertificateIdentity = true, oidcRequestToken, oidcRequestUrl, certificateIdentity
	return &c
}

// WithProvenance names who built the release in its provenance.
func (r *ReleaseCut) WithProvenance(
	// provenance builder id (in Actions: the workflow URL)
	// +optional
	builderId string,
	// provenance invocation id (in Actions: the run URL)
	// +optional
	invocationId string,
) *ReleaseCut {
	c := *r
	c.BuilderId, c.InvocationId = builderId, invocationId
	return &c
}

// Cut cuts the release: policy gate, the build matrix of every planned arch and target
// variant (in this engine session), SBOMs + provenance + SHA256SUMS, signatures,
// publish, verify and notes: the stages of `release cut`, stopping before the git tag
// (--until), which needs the checkout and push rights the workflow has. Returns the
// dist directory: <version>/ (the signed tree), <version>.release/ (state and notes,
// for `release cut --resume`), report.json, report.html and logs/. A dry run returns
// <version>.dry-run.txt, what every stage would do, and changes nothing.
func (r *ReleaseCut) Cut(
	ctx context.Context,
	// print what every stage would do; build, sign and publish nothing
	// +optional
	dryRun bool,
	// stop after this stage
	// +default="notes"
	until string,
	// boot every kernel under QEMU in verify (needs qemu-system-* in the module's runtime container, which the Go SDK image lacks)
	// +optional
	boot bool,
) (*dagger.Directory, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	work, err := os.MkdirTemp("", "guestforge-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	m := &Guestforge{Source: r.Checkout}
	rel, err := m.releaseCheckout(ctx, work, r.Version, r.Plan)
	if err != nil {
		return nil, err
	}
	cfg, err := r.config(ctx, rel, work, boot, m.cutBuilder(log))
	if err != nil {
		return nil, err
	}
	if err := runRelease(ctx, rel, cfg, dryRun, until, log); err != nil {
		return nil, err
	}
	return m.hostDirectory(ctx, rel.DistRoot)
}

// config is what `release cut` makes of the same flags: the secrets unwrapped, the
// policy gate's feeds exported under work, adapt.Defaults for the rest.
func (r *ReleaseCut) config(ctx context.Context, rel *cut.Release, work string, boot bool, builder cutbuild.Builder) (adapt.Config, error) {
	signing, err := r.signing(ctx)
	if err != nil {
		return adapt.Config{}, err
	}
	reg, err := r.registry(ctx, work, signing, boot)
	if err != nil {
		return adapt.Config{}, err
	}
	src, err := policySource(ctx, r.Feeds, filepath.Join(work, "feeds"))
	if err != nil {
		return adapt.Config{}, err
	}
	cfg := adapt.Config{
		Policy: relplan.PolicyCheck{Source: src, GoMod: filepath.Join(rel.Repo, "go.mod")}, Builder: builder,
		ImagesDir:  filepath.Join(rel.Repo, build.ImagesDir),
		Provenance: adapt.ProvenanceAttester{Repository: r.Source, BuilderID: r.BuilderId, InvocationID: r.InvocationId},
		Signing:    signing, Registry: reg, Identity: r.CertificateIdentity, GitHubRepo: r.GithubRepo,
	}
	// The caller's $GITHUB_WORKFLOW_REF does not reach this container: keyless
	// runs pass --certificate-identity.
	if err := adapt.Defaults(&cfg, rel.Manifest, adapt.Env{SourceDateEpoch: r.SourceDateEpoch}); err != nil {
		return adapt.Config{}, err
	}
	return cfg, nil
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

// signing unwraps the signing secrets into this process's memory.
func (r *ReleaseCut) signing(ctx context.Context) (*adapt.Signing, error) {
	signing := &adapt.Signing{Keyless: r.Keyless}
	var err error
	if r.Key != nil {
		if signing.KeyPEM, err = plaintext(ctx, r.Key); err != nil {
			return nil, err
		}
		if r.KeyPassword != nil {
			if signing.Password, err = plaintext(ctx, r.KeyPassword); err != nil {
				return nil, err
			}
		}
	}
	if !r.Keyless {
		return signing, nil
	}
	// The OIDC provider of sigstore reads the Actions token request from the
	// environment: this process's own, gone when the function returns.
	for env, s := range map[string]*dagger.Secret{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": r.OidcRequestToken, "ACTIONS_ID_TOKEN_REQUEST_URL": r.OidcRequestUrl} {
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

// registry is where the release is published, with the credentials and the
// public key verify checks against (exported under work).
func (r *ReleaseCut) registry(ctx context.Context, work string, signing *adapt.Signing, boot bool) (*adapt.Registry, error) {
	reg := &adapt.Registry{Repo: r.Registry, Insecure: r.Insecure, Signing: signing, NoBoot: !boot, Source: r.Source}
	if r.RegistryPassword != nil {
		pw, err := plaintext(ctx, r.RegistryPassword)
		if err != nil {
			return nil, err
		}
		reg.Remote = []remote.Option{remote.WithAuth(&authn.Basic{Username: r.RegistryUsername, Password: string(pw)})}
	}
	if r.PublicKey != nil {
		reg.PublicKey = filepath.Join(work, "cosign.pub")
		if _, err := r.PublicKey.Export(ctx, reg.PublicKey); err != nil {
			return nil, err
		}
	}
	return reg, nil
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
