package cut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Stage names, in release order.
const (
	StagePolicy  = "policy"
	StageBuild   = "build"
	StageAttest  = "attest"
	StageSign    = "sign"
	StagePublish = "publish"
	StageVerify  = "verify"
	StageNotes   = "notes"
	StageTag     = "tag"
)

// Order is the order of the stages; Stages assembles them in it.
var Order = []string{StagePolicy, StageBuild, StageAttest, StageSign, StagePublish, StageVerify, StageNotes, StageTag}

// The seams to the build pipelines (internal/build) and to signing and
// publishing (internal/release/{sign,publish,verify}). Each is the smallest
// thing the cut needs, so an adapter over those packages is a few lines.
type (
	// Builder builds the plan's targets into dir (dist/<tag>/).
	Builder interface {
		Build(ctx context.Context, r *Release, dir string) error
		// Describe says how it would build (engine, targets), for the dry run.
		Describe(ctx context.Context, r *Release) ([]string, error)
	}
	// Attester writes SBOMs or provenance into the tree. Attesters run
	// before SHA256SUMS is computed, so the sums cover what they write.
	Attester interface {
		Name() string
		Attest(ctx context.Context, r *Release, tree *dist.Tree) error
	}
	// Signer writes a Sigstore bundle next to every file SHA256SUMS lists
	// and next to SHA256SUMS itself.
	Signer interface {
		Sign(ctx context.Context, r *Release, tree *dist.Tree) error
		Describe(ctx context.Context, r *Release) ([]string, error)
	}
	// Publisher pushes the signed tree and returns the published reference
	// by digest. It must move the version tag only after everything else
	// is pushed, and touch no other tag.
	Publisher interface {
		Publish(ctx context.Context, r *Release, tree *dist.Tree) (ref string, err error)
		Describe(ctx context.Context, r *Release) ([]string, error)
	}
	// Verifier checks what was published (ref, by digest) against the tree.
	Verifier interface {
		Verify(ctx context.Context, r *Release, ref string, tree *dist.Tree) error
		Describe(ctx context.Context, r *Release) ([]string, error)
	}
)

// policyStage is the toolchain policy gate.
type policyStage struct{ check plan.Policy }

// PolicyStage gates the release on the toolchain policy.
func PolicyStage(check plan.Policy) Stage { return policyStage{check} }

func (policyStage) Name() string    { return StagePolicy }
func (policyStage) Publishes() bool { return false }

func (s policyStage) evaluate(ctx context.Context, r *Release) (plan.PolicyReport, error) {
	rep, err := s.check.Check(ctx, r.Manifest, r.AsOf)
	if err != nil {
		return rep, fmt.Errorf("toolchain policy check: %w", err)
	}
	if !rep.Pass {
		var bad []string
		for _, f := range rep.Findings {
			if f.Level == plan.LevelViolation {
				bad = append(bad, f.Name+" "+f.Pinned+": "+f.Message)
			}
		}
		return rep, fmt.Errorf("toolchain policy violated (%s): run `release policy bump --write` and merge the bump, or add a dated exception to toolchain.yaml",
			strings.Join(bad, "; "))
	}
	return rep, nil
}

func (s policyStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	rep, err := s.evaluate(ctx, r)
	if err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("policy check as of %s: PASS", r.AsOf.Format("2006-01-02"))}
	for _, f := range rep.Findings {
		if f.Level != plan.LevelOK {
			out = append(out, fmt.Sprintf("%s %s %s: %s", f.Level, f.Name, f.Pinned, f.Message))
		}
	}
	return out, nil
}

func (s policyStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	rep, err := s.evaluate(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Book, 0o755); err != nil {
		return nil, err
	}
	if err := dist.WriteFile(filepath.Join(r.Book, "policy.json"), append(data, '\n')); err != nil {
		return nil, err
	}
	return nil, nil
}

// buildStage runs the build matrix into dist/<tag>/.
type buildStage struct{ b Builder }

// BuildStage builds the plan's matrix with b.
func BuildStage(b Builder) Stage { return buildStage{b} }

func (buildStage) Name() string    { return StageBuild }
func (buildStage) Publishes() bool { return false }

func (s buildStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	out, err := s.b.Describe(ctx, r)
	if err != nil {
		return nil, err
	}
	for _, b := range r.Plan.Builds {
		what := b.Kind + " " + b.Arch + "/" + b.Variant
		if b.Image != "" {
			what = b.Kind + " " + b.Arch + " image " + b.Image
		}
		out = append(out, fmt.Sprintf("%s -> %s/%s/{%s}", what, r.Dir, b.Arch, strings.Join(b.Files, ",")))
	}
	return out, nil
}

func (s buildStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := s.b.Build(ctx, r, r.Dir); err != nil {
		return nil, err
	}
	return nil, checkBuilt(r)
}

// checkBuilt holds the build to the plan: every planned kernel and image is
// in the tree, so a builder that silently skipped a target cannot produce a
// release that is missing it.
func checkBuilt(r *Release) error {
	tree, err := dist.Open(r.Dir)
	if err != nil {
		return fmt.Errorf("the build's output is not a dist tree: %w", err)
	}
	var missing []string
	kernels := map[string][]string{} // arch -> planned variants
	for _, b := range r.Plan.Builds {
		if b.Kind == "kernel" {
			kernels[b.Arch] = append(kernels[b.Arch], b.Variant)
		}
	}
	oneKernelShort := false
	for _, b := range r.Plan.Builds {
		ad, ok := archDir(tree, b.Arch)
		if !ok {
			missing = append(missing, b.Arch+"/ (the whole arch)")
			continue
		}
		switch b.Kind {
		case "kernel":
			if variants := kernels[b.Arch]; len(ad.Kernels) < len(variants) {
				missing = append(missing, fmt.Sprintf("%s: %d %s for %d variants (%s)", b.Arch, len(ad.Kernels),
					plural(len(ad.Kernels), "kernel"), len(variants), strings.Join(variants, ", ")))
				oneKernelShort = oneKernelShort || len(ad.Kernels) == 1
				delete(kernels, b.Arch) // report once per arch
			}
		case "initrd", "rootfs":
			if !hasImageFile(ad, b.Image, b.Kind) {
				missing = append(missing, b.Arch+"/"+imageFileName(b))
			}
		}
	}
	if len(missing) > 0 {
		hint := ""
		if oneKernelShort {
			// The likeliest cause: artifacts exported by `dagger call all` (or `make`),
			// which build only the test kernel unless asked for the targets' variants.
			hint = "; an imported tree with one kernel per arch is usually a test-kernel build: export the release kernels with `dagger call all --kernel-variant=targets` (or `hack/build.sh --full`)"
		}
		return fmt.Errorf("the build finished without %s: the release needs every planned artifact%s", strings.Join(missing, ", "), hint)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func archDir(t *dist.Tree, name string) (dist.ArchDir, bool) {
	for _, ad := range t.Arches {
		if ad.Arch.Name == name {
			return ad, true
		}
	}
	return dist.ArchDir{}, false
}

// imageFileName is the file a planned initrd or rootfs build leaves for its image.
func imageFileName(b plan.Build) string {
	if b.Kind == "initrd" {
		return artifact.InitrdName(b.Image)
	}
	return artifact.RootfsImageName(b.Image)
}

func hasImageFile(ad dist.ArchDir, image, kind string) bool {
	for _, im := range ad.Images {
		if im.Name == image && ((kind == "initrd" && im.Initrd != "") || (kind == "rootfs" && im.Rootfs != "")) {
			return true
		}
	}
	return false
}

// attestStage writes SBOMs and provenance, then SHA256SUMS over everything.
type attestStage struct{ attesters []Attester }

// AttestStage runs the attesters, then writes SHA256SUMS.
func AttestStage(attesters ...Attester) Stage { return attestStage{attesters} }

func (attestStage) Name() string    { return StageAttest }
func (attestStage) Publishes() bool { return false }

func (s attestStage) Describe(_ context.Context, r *Release) ([]string, error) {
	var out []string
	for _, a := range s.attesters {
		out = append(out, "write "+a.Name()+" into "+r.Dir)
	}
	return append(out, "write "+filepath.Join(r.Dir, dist.SumsFile)+" over artifacts, SBOMs and provenance"), nil
}

func (s attestStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	for _, a := range s.attesters {
		tree, err := dist.Open(r.Dir)
		if err != nil {
			return nil, err
		}
		if err := a.Attest(ctx, r, tree); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name(), err)
		}
	}
	tree, err := dist.Open(r.Dir)
	if err != nil {
		return nil, err
	}
	entries, err := sums.Write(tree)
	if err != nil {
		return nil, err
	}
	return map[string]string{"summed": fmt.Sprint(len(entries))}, nil
}

// signStage signs the tree.
type signStage struct{ s Signer }

// SignStage signs every summed file and SHA256SUMS with s.
func SignStage(s Signer) Stage { return signStage{s} }

func (signStage) Name() string    { return StageSign }
func (signStage) Publishes() bool { return false }

func (s signStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	return s.s.Describe(ctx, r)
}

func (s signStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	tree, err := dist.Open(r.Dir)
	if err != nil {
		return nil, err
	}
	if err := s.s.Sign(ctx, r, tree); err != nil {
		return nil, err
	}
	// Every artifact, and SHA256SUMS itself, must have its bundle.
	if tree, err = dist.Open(r.Dir); err != nil {
		return nil, err
	}
	var unsigned []string
	for _, rel := range append(tree.Artifacts(), dist.SumsFile) {
		if !tree.Has(rel + dist.BundleSuffix) {
			unsigned = append(unsigned, rel)
		}
	}
	if len(unsigned) > 0 {
		return nil, fmt.Errorf("signing left %d files without a bundle (%s): nothing is published unsigned",
			len(unsigned), strings.Join(unsigned, ", "))
	}
	return nil, nil
}

// publishStage pushes the signed tree.
type publishStage struct{ p Publisher }

// PublishStage publishes with p.
func PublishStage(p Publisher) Stage { return publishStage{p} }

func (publishStage) Name() string    { return StagePublish }
func (publishStage) Publishes() bool { return true }

func (s publishStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	return s.p.Describe(ctx, r)
}

func (s publishStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	tree, err := dist.Open(r.Dir)
	if err != nil {
		return nil, err
	}
	ref, err := s.p.Publish(ctx, r, tree)
	if err != nil {
		return nil, err
	}
	if ref == "" {
		return nil, errors.New("the publisher returned no reference: cannot verify what was published")
	}
	return map[string]string{"ref": ref}, nil
}

// verifyStage checks the published release.
type verifyStage struct{ v Verifier }

// VerifyStage verifies the published reference with v.
func VerifyStage(v Verifier) Stage { return verifyStage{v} }

func (verifyStage) Name() string    { return StageVerify }
func (verifyStage) Publishes() bool { return false }

func (s verifyStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	return s.v.Describe(ctx, r)
}

func (s verifyStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	ref, ok := r.Value(StagePublish, "ref")
	if !ok {
		return nil, errors.New("no published reference recorded by the publish stage")
	}
	tree, err := dist.Open(r.Dir)
	if err != nil {
		return nil, err
	}
	if err := s.v.Verify(ctx, r, ref, tree); err != nil {
		return nil, fmt.Errorf("verify %s: %w (the release is published but not proven: do not announce it; see the runbook)", ref, err)
	}
	return map[string]string{"verified": ref}, nil
}
