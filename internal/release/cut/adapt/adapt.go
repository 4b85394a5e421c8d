// Package adapt connects the stage seams of internal/release/cut to the
// packages that do the work: internal/release/{sbom,provenance,sign,publish,
// verify}, and a builder that takes the artifacts the Dagger module exported.
// It is separate from cut so the orchestration builds and tests without
// cosign, go-containerregistry or QEMU.
package adapt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/release/verify"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

// ImportBuilder is the build stage for artifacts built elsewhere by the same
// pipelines: `dagger call all ... export --path=DIR` (CI, or the ci/
// module's release function) leaves DIR/<arch>/...; the stage copies the
// planned architectures into dist/<tag>/ and the build check then holds
// them to the plan.
type ImportBuilder struct{ From string }

// Describe implements cut.Builder.
func (b ImportBuilder) Describe(_ context.Context, r *cut.Release) ([]string, error) {
	line := fmt.Sprintf("import the artifacts the pipelines exported to %s", b.From)
	if _, err := os.Stat(b.From); err != nil {
		line += " (not there yet: run `dagger call all --kernel-variant=targets export --path=" + b.From + "` first)"
	}
	return []string{line}, nil
}

// Build implements cut.Builder.
func (b ImportBuilder) Build(_ context.Context, r *cut.Release, dir string) error {
	src, err := dist.Open(b.From)
	if err != nil {
		return fmt.Errorf("artifacts to import: %w", err)
	}
	want := map[string]bool{}
	for _, bl := range r.Plan.Builds {
		want[bl.Arch] = true
	}
	copied := 0
	for _, ad := range src.Arches {
		if !want[ad.Arch.Name] {
			continue
		}
		for _, rel := range ad.Files {
			if err := copyFile(src.Path(rel), filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				return err
			}
			copied++
		}
	}
	if copied == 0 {
		return fmt.Errorf("%s holds no artifacts for the planned architectures", b.From)
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("import %s: %w", from, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("import %s: %w", from, err)
	}
	return out.Close()
}

// Epoch is the creation time attestations carry: SOURCE_DATE_EPOCH when the
// caller sets it, else toolchain.yaml's epoch (docs/architecture.md, Reproducibility).
func Epoch(tc *manifest.Toolchain, sourceDateEpoch string) (time.Time, error) {
	if sourceDateEpoch != "" {
		n, err := sourcedate.Parse(sourceDateEpoch)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if tc.Epoch <= 0 {
		return time.Time{}, fmt.Errorf("%s: no epoch and SOURCE_DATE_EPOCH is unset", tc.Path)
	}
	return time.Unix(tc.Epoch, 0).UTC(), nil
}

// SBOMAttester writes the SPDX documents of every image in the tree.
type SBOMAttester struct {
	// ImagesDir holds images/<name>.yaml (the agent facts).
	ImagesDir string
	Created   time.Time
}

// Name implements cut.Attester.
func (SBOMAttester) Name() string { return "SBOMs (SPDX 2.3 per image, sbom.spdx.json index)" }

// Attest implements cut.Attester.
func (a SBOMAttester) Attest(_ context.Context, r *cut.Release, t *dist.Tree) error {
	_, err := a.Write(t, r.Manifest)
	return err
}

// Write writes the SPDX documents of every image in t and the index, and
// returns the files written: the attest stage and `release attest` both.
func (a SBOMAttester) Write(t *dist.Tree, tc *manifest.Toolchain) ([]string, error) {
	agents := map[string]sbom.Agent{}
	locks := map[string]*pkglock.Lock{}
	for _, ad := range t.Arches {
		for _, im := range ad.Images {
			img, err := manifest.LoadImage(filepath.Join(a.ImagesDir, im.Name+".yaml"))
			if errors.Is(err, os.ErrNotExist) {
				continue // built from elsewhere: the SBOM names the agent by its path
			}
			if err != nil {
				return nil, err
			}
			agents[im.Name] = sbom.AgentFromImage(img)
			if _, done := locks[im.Name]; done {
				continue
			}
			l, err := pkglock.Load(pkglock.ImagePath(a.ImagesDir, im.Name))
			if errors.Is(err, pkglock.ErrNoLock) {
				continue // a definition without a lock builds nowhere; described from dpkg alone
			}
			if err != nil {
				return nil, err
			}
			locks[im.Name] = l
		}
	}
	return sbom.Write(t, sbom.Options{Created: a.Created, Agents: agents, KernelSource: tc.Kernel.URL, Locks: locks})
}

// ProvenanceAttester writes provenance.intoto.jsonl.
type ProvenanceAttester struct {
	// Repository is the source URL; BuilderID and InvocationID identify the
	// platform and run (the workflow and run URLs in Actions).
	Repository, BuilderID, InvocationID string
	// Builders are recorded besides the builder images of toolchain.yaml
	// (`release attest --builder`).
	Builders []provenance.BuilderImage
}

// Name implements cut.Attester.
func (ProvenanceAttester) Name() string { return "provenance (in-toto, SLSA v1)" }

// Attest implements cut.Attester.
func (a ProvenanceAttester) Attest(_ context.Context, r *cut.Release, t *dist.Tree) error {
	return a.Write(t, r.Manifest, r.Commit, map[string]string{"version": r.Tag, "kind": string(r.Plan.Decision.Kind)})
}

// Write writes the provenance of t, built from tc at commit with params: the
// attest stage and `release attest` both.
func (a ProvenanceAttester) Write(t *dist.Tree, tc *manifest.Toolchain, commit string, params map[string]string) error {
	tcSum, err := sums.File(tc.Path)
	if err != nil {
		return err
	}
	in := provenance.Input{Commit: commit, Repository: a.Repository, ToolchainSHA256: tcSum,
		BuilderID: a.BuilderID, InvocationID: a.InvocationID, Parameters: params}
	if in.Builders, in.Dependencies, err = provenance.FromToolchain(tc); err != nil {
		return err
	}
	in.Builders = append(in.Builders, a.Builders...)
	_, err = provenance.Write(t, in)
	return err
}

// Signing is how the release is signed: a cosign key pair (password in
// $COSIGN_PASSWORD) or keyless (GitHub Actions OIDC, Fulcio, Rekor). One
// signer serves the sign stage (bundles) and publish (registry signatures).
type Signing struct {
	Key     string
	Keyless bool
	// KeyPEM and Password, when KeyPEM is set, are the private key and its
	// password held in memory instead of Key and $COSIGN_PASSWORD: the ci/
	// module receives both as Dagger secrets and never writes them to disk.
	KeyPEM, Password []byte

	signer interface {
		sign.BlobSigner
		sign.ImageSigner
	}
}

func (s *Signing) describe(r *cut.Release) ([]string, error) {
	switch {
	case s.Keyless && (s.Key != "" || s.KeyPEM != nil):
		return nil, errors.New("--key and --keyless exclude each other")
	case s.Keyless:
		return []string{"keyless: Fulcio certificate for this workflow's OIDC identity, Rekor entry"}, nil
	case s.KeyPEM != nil && s.Key != "":
		return nil, errors.New("a key file and a key in memory exclude each other")
	case s.KeyPEM != nil:
		if _, err := sign.LoadKey(s.KeyPEM, s.Password); err != nil {
			return nil, fmt.Errorf("signing key (from a secret): %w", err)
		}
		return []string{"key from a secret (offline: no transparency log)"}, nil
	case s.Key == "":
		return nil, errors.New("no signing key: pass --key cosign.key (password in $COSIGN_PASSWORD), or --keyless in GitHub Actions")
	}
	if err := sign.CheckKeyOutside(s.Key, r.DistRoot); err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.Key); err != nil {
		return nil, fmt.Errorf("signing key: %w (make one with `release keygen`)", err)
	}
	return []string{"key " + s.Key + " (offline: no transparency log)"}, nil
}

func (s *Signing) load(ctx context.Context, r *cut.Release) (interface {
	sign.BlobSigner
	sign.ImageSigner
}, error) {
	if s.signer != nil {
		return s.signer, nil
	}
	if _, err := s.describe(r); err != nil {
		return nil, err
	}
	if s.Keyless {
		k, err := sign.NewKeyless(ctx)
		if err != nil {
			return nil, err
		}
		s.signer = k
		return k, nil
	}
	if s.KeyPEM != nil {
		k, err := sign.LoadKey(s.KeyPEM, s.Password)
		if err != nil {
			return nil, err
		}
		s.signer = k
		return k, nil
	}
	pw, err := sign.PasswordFromEnv()
	if err != nil {
		return nil, err
	}
	k, err := sign.LoadKeyFile(s.Key, pw)
	if err != nil {
		return nil, err
	}
	s.signer = k
	return k, nil
}

// Describe implements cut.Signer.
func (s *Signing) Describe(_ context.Context, r *cut.Release) ([]string, error) {
	lines, err := s.describe(r)
	if err != nil {
		return nil, err
	}
	return append([]string{"write <file>.sigstore.json for SHA256SUMS and every file it lists"}, lines...), nil
}

// Sign implements cut.Signer.
func (s *Signing) Sign(ctx context.Context, r *cut.Release, t *dist.Tree) error {
	signer, err := s.load(ctx, r)
	if err != nil {
		return err
	}
	_, err = sign.Tree(ctx, t, signer, r.Log)
	return err
}

// Registry publishes to and verifies from an OCI repository.
type Registry struct {
	// Repo is REGISTRY/REPO, e.g. ghcr.io/guestforge/guest-images.
	Repo     string
	Insecure bool
	Signing  *Signing
	// PublicKey verifies what was published (cosign.pub).
	PublicKey string
	// TrustedRoot is the Sigstore trusted root JSON file keyless signatures
	// are verified against; empty means the public-good instance's, over
	// TUF, which is what Signing.Keyless signs with. A private root (tests,
	// a private Sigstore) requires a log entry only when it names a log.
	TrustedRoot string
	// NoBoot skips the QEMU boot of verify (hosts without QEMU).
	NoBoot bool
	// Source is the repository URL for the image source annotation.
	Source string
	// Remote overrides the registry options (tests); default: Docker config auth.
	Remote []remote.Option
}

func (g *Registry) repo() (name.Repository, error) {
	var opts []name.Option
	if g.Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(g.Repo, opts...)
	if err != nil {
		return repo, fmt.Errorf("registry %q: %w", g.Repo, err)
	}
	return repo, nil
}

func (g *Registry) remote() []remote.Option {
	if g.Remote != nil {
		return g.Remote
	}
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// Publisher returns the publish seam.
func (g *Registry) Publisher() cut.Publisher { return registryPublisher{g} }

// Verifier returns the verify seam. For a keyless release, identity and
// issuer are what every certificate must carry: the signing workflow's URL
// (https://github.com/OWNER/REPO/.github/workflows/release.yaml@REF) and
// its OIDC issuer, the same values the notes tell users to verify with.
func (g *Registry) Verifier(identity, issuer string) cut.Verifier {
	return registryVerifier{g: g, identity: identity, issuer: issuer}
}

type registryPublisher struct{ g *Registry }

func (p registryPublisher) Describe(_ context.Context, r *cut.Release) ([]string, error) {
	repo, err := p.g.repo()
	if err != nil {
		return nil, err
	}
	var arches []string
	seen := map[string]bool{}
	for _, b := range r.Plan.Builds {
		if !seen[b.Arch] {
			seen[b.Arch] = true
			arches = append(arches, repo.Tag(r.Tag+"-"+b.Arch).String())
		}
	}
	return []string{
		"push one OCI artifact per arch and an index to " + repo.String() + ", signed",
		"tags " + strings.Join(arches, ", ") + ", then last " + repo.Tag(r.Tag).String(),
	}, nil
}

func (p registryPublisher) Publish(ctx context.Context, r *cut.Release, t *dist.Tree) (string, error) {
	repo, err := p.g.repo()
	if err != nil {
		return "", err
	}
	signer, err := p.g.Signing.load(ctx, r)
	if err != nil {
		return "", err
	}
	res, err := publish.Publish(ctx, t, repo, publish.Options{
		Signer: signer, Remote: p.g.remote(), Commit: r.Commit, Source: p.g.Source, Log: r.Log,
	})
	if err != nil {
		return "", err
	}
	return res.Index.String(), nil
}

type registryVerifier struct {
	g                *Registry
	identity, issuer string
}

func (v registryVerifier) keyless() bool { return v.g.Signing != nil && v.g.Signing.Keyless }

// checkKeyless is what a dry run can know without the network: an identity
// and an issuer to hold the certificates to, and a readable trusted root
// when one is given.
func (v registryVerifier) checkKeyless() (string, error) {
	if v.identity == "" {
		return "", errors.New("keyless verify needs the certificate identity every signature must carry: pass --certificate-identity https://github.com/OWNER/REPO/.github/workflows/release.yaml@REF (in GitHub Actions it defaults from $GITHUB_WORKFLOW_REF)")
	}
	if v.issuer == "" {
		return "", errors.New("keyless verify needs the OIDC issuer the certificates must name (GitHub Actions: https://token.actions.githubusercontent.com)")
	}
	if v.g.TrustedRoot == "" {
		return "the Sigstore public-good trusted root (TUF): a Rekor entry and an SCT required", nil
	}
	tr, err := sign.LoadTrustedRoot(v.g.TrustedRoot)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("trusted root %s (%d CAs; log entry required: %t)", v.g.TrustedRoot, len(tr.FulcioCertificateAuthorities()), len(tr.RekorLogs()) > 0), nil
}

// certVerifier builds the keyless policy. The trusted root decides what
// must be there besides the certificate: a log entry when it names a
// transparency log, an SCT when it names a CT log; the public-good root
// names both, so an Actions release is held to Rekor and CT.
func (v registryVerifier) certVerifier() (*sign.CertVerifier, error) {
	trusted, err := sign.TrustedRoot(v.g.TrustedRoot)
	if err != nil {
		return nil, err
	}
	return sign.NewCertVerifier(sign.CertPolicy{Identity: v.identity, Issuer: v.issuer, Trusted: trusted,
		Tlog: len(trusted.RekorLogs()) > 0, SCT: len(trusted.CTLogs()) > 0})
}

func (v registryVerifier) Describe(_ context.Context, r *cut.Release) ([]string, error) {
	boot := "boot every kernel + initrd under QEMU"
	if v.g.NoBoot {
		boot = "no boot (--no-boot)"
	}
	if v.keyless() {
		trust, err := v.checkKeyless()
		if err != nil {
			return nil, err
		}
		return []string{
			"pull the published index back by digest and verify keyless signatures, checksums, provenance, SBOMs; " + boot,
			fmt.Sprintf("certificates must name %s, issuer %s, and chain to %s", v.identity, v.issuer, trust),
		}, nil
	}
	if v.g.PublicKey == "" {
		return nil, errors.New("verify needs the release public key: pass --public-key cosign.pub")
	}
	if _, err := os.Stat(v.g.PublicKey); err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return []string{"pull the published index back by digest and verify signatures, checksums, provenance, SBOMs; " + boot}, nil
}

func (v registryVerifier) Verify(ctx context.Context, r *cut.Release, ref string, _ *dist.Tree) error {
	o := verify.Options{NoBoot: v.g.NoBoot}
	if v.keyless() {
		if _, err := v.checkKeyless(); err != nil {
			return err
		}
		cv, err := v.certVerifier()
		if err != nil {
			return err
		}
		o.Keyless = cv
	} else {
		kv, err := sign.LoadPublicKeyFile(v.g.PublicKey)
		if err != nil {
			return err
		}
		o.Key = kv
	}
	var opts []name.Option
	if v.g.Insecure {
		opts = append(opts, name.Insecure)
	}
	d, err := name.NewDigest(ref, opts...)
	if err != nil {
		return fmt.Errorf("published reference %q: %w", ref, err)
	}
	dest, err := os.MkdirTemp("", "guestforge-verify-"+r.Tag+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dest)
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.Log = log
	o.Publish = publish.Options{Remote: v.g.remote(), Log: log}
	_, err = verify.Ref(ctx, d, dest, o)
	return err
}
