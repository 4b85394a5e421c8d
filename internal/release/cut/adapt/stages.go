package adapt

import (
	"context"
	"errors"
	"time"

	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/notes"
	"github.com/guestforge/guestforge/internal/release/plan"
)

// Config is everything the standard release needs beyond the plan.
type Config struct {
	Policy plan.Policy
	// Builder builds the matrix (internal/build/cutbuild on an engine).
	// Artifacts, when set instead, imports what `dagger call all ... export`
	// left there.
	Builder   cut.Builder
	Artifacts string
	// ImagesDir is images/ (agent facts for the SBOMs).
	ImagesDir string
	// KernelConfigs is kernel-configs/ (which kernel is a measured
	// target's, for its reference values).
	KernelConfigs string
	// Created is the attestations' creation time (SOURCE_DATE_EPOCH).
	Created time.Time
	// Provenance identifies the source and the run.
	Provenance ProvenanceAttester
	Signing    *Signing
	Registry   *Registry
	// Identity and Issuer are what a keyless certificate carries: the
	// verify stage holds every signature to them, and the notes tell users
	// to verify with them.
	Identity, Issuer string
	GitHubRepo       string
	// PushTag is the git remote the tag is pushed to ("" = local tag only).
	PushTag string
}

// ErrNoBuilder is returned when neither a builder nor artifacts are given.
var ErrNoBuilder = errors.New("no way to build: configure the Dagger builder (internal/build/cutbuild; `release cut` and the ci/ module do), or pass --artifacts DIR with what `dagger call all ... export --path=DIR` exported")

// Stages assembles the release in cut.Order.
func Stages(c Config) ([]cut.Stage, error) {
	b := c.Builder
	if b == nil && c.Artifacts != "" {
		b = ImportBuilder{From: c.Artifacts}
	}
	if b == nil {
		b = missingBuilder{}
	}
	if c.Signing == nil || c.Registry == nil || c.Policy == nil {
		return nil, errors.New("release stages: policy, signing and registry are required")
	}
	signing := notes.Signing{Keyless: c.Signing.Keyless, PublicKey: "cosign.pub", Tlog: c.Signing.Keyless,
		Identity: c.Identity, Issuer: c.Issuer}
	return []cut.Stage{
		cut.PolicyStage(c.Policy),
		cut.BuildStage(b),
		cut.AttestStage(RefValuesAttester{KernelConfigs: c.KernelConfigs}, SBOMAttester{ImagesDir: c.ImagesDir, Created: c.Created}, c.Provenance),
		cut.SignStage(c.Signing),
		cut.PublishStage(c.Registry.Publisher()),
		cut.VerifyStage(c.Registry.Verifier(c.Identity, c.Issuer)),
		cut.NotesStage(cut.NotesConfig{Signing: signing, Registry: c.Registry.Repo, GitHubRepo: c.GitHubRepo}),
		cut.TagStage(c.PushTag),
	}, nil
}

// missingBuilder fails the build stage with what to do, and lets a dry run
// say so without failing the whole preview.
type missingBuilder struct{}

func (missingBuilder) Describe(context.Context, *cut.Release) ([]string, error) {
	return []string{"no builder configured: " + ErrNoBuilder.Error()}, nil
}

func (missingBuilder) Build(context.Context, *cut.Release, string) error { return ErrNoBuilder }
