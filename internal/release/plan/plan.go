// Package plan answers "what would the next release be?" without changing
// anything: the next version and why, the changes since the last tag, the
// toolchain policy result, the target matrix with its support status, and
// the artifacts the build would produce. `release plan` prints it and
// `release cut` starts from it.
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/changes"
	"github.com/guestforge/guestforge/internal/release/version"
	"github.com/guestforge/guestforge/internal/support"
)

// Flags are the release manager's choices that shape the version.
type Flags struct {
	Patch   bool
	Major   bool
	Final   bool
	Version string
}

// Policy is the toolchain policy check: a pure evaluation of the manifest's
// pins on the date of evaluation. The adapter over internal/policy lives in
// policy.go; tests and offline runs can pass any implementation that
// evaluates real inputs.
type Policy interface {
	Check(ctx context.Context, tc *manifest.Toolchain, asOf time.Time) (PolicyReport, error)
}

// PolicyReport is the outcome of the policy check, in the terms the plan
// and the notes need.
type PolicyReport struct {
	// Pass is false when a pin violates the policy: the cut stops at its gate.
	Pass     bool      `json:"pass"`
	Findings []Finding `json:"findings"`
	// Source says what the check was evaluated against (feeds, snapshot).
	Source string `json:"source,omitempty"`
}

// Finding is one pin's result.
type Finding struct {
	Name    string `json:"name"`
	Pinned  string `json:"pinned"`
	Level   string `json:"level"` // ok | warn | violation
	Message string `json:"message"`
}

// Input is everything a plan is computed from.
type Input struct {
	// Repo is the git checkout to release.
	Repo     string
	Manifest *manifest.Toolchain
	AsOf     time.Time
	Flags    Flags
	Policy   Policy
	// Locks, when set, adds the checkout's package locks to the plan.
	Locks Locks
}

// Plan is the answer.
type Plan struct {
	AsOf     time.Time        `json:"as_of"`
	Head     string           `json:"head"`
	Decision version.Decision `json:"decision"`
	Changes  changes.Set      `json:"changes"`
	Policy   PolicyReport     `json:"policy"`
	Targets  []Target         `json:"targets"`
	Builds   []Build          `json:"builds"`
	// Toolchain is the pinned versions the release is built with.
	Toolchain []Pin `json:"toolchain"`
	// Locks are the package locks builds install from (with Input.Locks only).
	Locks []LockState `json:"locks,omitempty"`
	// Blockers are reasons `release cut` would stop: each says what to fix.
	Blockers []string `json:"blockers,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Nothing reports whether there is nothing to release.
func (p *Plan) Nothing() bool { return p.Decision.Kind == version.KindNone }

// Target is one row of the target matrix.
type Target struct {
	Name        string   `json:"name"` // arch/variant
	Arch        string   `json:"arch"`
	Variant     string   `json:"variant"`
	Images      []string `json:"images"`
	Status      string   `json:"status"`
	Maintainers []string `json:"maintainers,omitempty"`
	RemovalDate string   `json:"removal_date,omitempty"`
	// Build is false for targets the gate refuses (removed, past removal).
	Build bool `json:"build"`
	// Flags are what the release manager must look at (deprecation with the
	// removal date, no maintainer, refused).
	Flags []string `json:"flags,omitempty"`
}

// Build is one artifact family the build stage will produce.
type Build struct {
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
	Kind    string `json:"kind"` // kernel | initrd | rootfs
	Image   string `json:"image,omitempty"`
	// Files are the names in dist/<version>/<arch>/ (kernel names carry the
	// config id, known only after the fragments are merged: <cfg>).
	Files []string `json:"files"`
}

// Pin is one toolchain version, for the plan and the notes.
type Pin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Make computes the plan. It reads git and runs the policy check; it writes
// nothing. An error means the plan could not be made at all (no git, a bad
// manifest); problems the manager must fix are Blockers.
func Make(ctx context.Context, in Input) (*Plan, error) {
	if in.Manifest == nil {
		return nil, errors.New("plan: no manifest loaded")
	}
	if in.AsOf.IsZero() {
		return nil, errors.New("plan: no as-of date")
	}
	p := &Plan{AsOf: in.AsOf.UTC()}
	head, err := changes.Head(ctx, in.Repo)
	if err != nil {
		return nil, err
	}
	p.Head = head
	tags, err := changes.Tags(ctx, in.Repo)
	if err != nil {
		return nil, err
	}
	d, err := version.Decide(version.Request{
		Tags: tags, AsOf: in.AsOf, Head: head, ReleaseDay: in.Manifest.Release.Day,
		Patch: in.Flags.Patch, Major: in.Flags.Major, Final: in.Flags.Final, Version: in.Flags.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("decide the version: %w", err)
	}
	p.Decision = d
	p.Warnings = append(p.Warnings, d.Warnings...)

	since := d.Previous
	if d.Kind == version.KindNone && d.Tag != "" {
		// Re-running after a release: show what that release contained.
		since = previousOf(tags, d.Tag)
	}
	p.Changes, err = changes.Since(ctx, in.Repo, since)
	if err != nil {
		return nil, err
	}

	if in.Policy == nil {
		return nil, errors.New("plan: no policy checker configured")
	}
	p.Policy, err = in.Policy.Check(ctx, in.Manifest, in.AsOf)
	if err != nil {
		return nil, fmt.Errorf("toolchain policy check: %w", err)
	}
	if !p.Policy.Pass {
		for _, f := range p.Policy.Findings {
			if f.Level == LevelViolation {
				p.Blockers = append(p.Blockers, fmt.Sprintf("policy: %s %s: %s (run `release policy bump --write`, or add a dated exception)", f.Name, f.Pinned, f.Message))
			}
		}
		if len(p.Blockers) == 0 {
			p.Blockers = append(p.Blockers, "policy: the check failed without naming a pin; run `release policy check` for details")
		}
	}

	if err := p.matrix(in.Manifest, in.AsOf); err != nil {
		return nil, err
	}
	p.Toolchain = Pins(in.Manifest)
	if in.Locks != nil {
		if err := p.locks(ctx, in.Locks, in.Repo, in.Manifest, in.AsOf); err != nil {
			return nil, fmt.Errorf("package locks: %w", err)
		}
	}
	return p, nil
}

// Finding levels.
const (
	LevelOK        = "ok"
	LevelWarn      = "warn"
	LevelViolation = "violation"
)

// previousOf returns the highest release tag below tag ("" when none), so a
// plan for an existing release lists that release's own changes.
func previousOf(tags []version.Tag, tag string) string {
	v, _, err := version.ParseTag(tag)
	if err != nil {
		return ""
	}
	best := ""
	var bestV = v
	for _, t := range tags {
		tv, rc, err := version.ParseTag(t.Name)
		if err != nil || rc != 0 || !tv.LessThan(v) {
			continue
		}
		if best == "" || tv.GreaterThan(bestV) {
			best, bestV = t.Name, tv
		}
	}
	return best
}

// matrix fills Targets and Builds from the manifest through the support gate.
func (p *Plan) matrix(tc *manifest.Toolchain, asOf time.Time) error {
	entries, err := support.Entries(tc)
	if err != nil {
		return err
	}
	kver := tc.Kernel.Version
	images := map[string]bool{}
	for _, e := range entries {
		t := Target{
			Name: e.Name(), Arch: e.Arch.Name, Variant: e.Target.Variant, Images: e.Target.Images,
			Status: string(e.Status), Maintainers: e.Target.Maintainers, RemovalDate: e.Target.RemovalDate,
		}
		g, err := support.Gate(tc, e.Arch.Name, e.Target.Variant, asOf)
		switch {
		case errors.Is(err, support.ErrRemoved):
			t.Flags = append(t.Flags, "not built: "+err.Error())
		case err != nil:
			return err
		default:
			t.Build = true
			t.Flags = append(t.Flags, g.Warnings...)
		}
		if !e.Maintained() && e.Status == support.Supported {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is supported but has no maintainer", e.Name()))
		}
		p.Targets = append(p.Targets, t)
		if !t.Build {
			continue
		}
		p.Builds = append(p.Builds, Build{
			Arch: e.Arch.Name, Variant: e.Target.Variant, Kind: "kernel",
			Files: []string{
				artifact.KernelName(artifact.KernelImage, kver, "<cfg>"), artifact.KernelName(artifact.Kernel, kver, "<cfg>"),
				artifact.KernelName(artifact.KernelConfig, kver, "<cfg>"), artifact.KernelName(artifact.SystemMap, kver, "<cfg>"),
			},
		})
		// Images do not depend on the kernel variant: each is built once per
		// arch, however many variants list it.
		for _, img := range e.Target.Images {
			if images[e.Arch.Name+"/"+img] {
				continue
			}
			images[e.Arch.Name+"/"+img] = true
			p.Builds = append(p.Builds,
				Build{Arch: e.Arch.Name, Variant: e.Target.Variant, Kind: "initrd", Image: img, Files: []string{artifact.InitrdName(img)}},
				Build{Arch: e.Arch.Name, Variant: e.Target.Variant, Kind: "rootfs", Image: img,
					Files: []string{artifact.RootfsImageName(img), artifact.VerityParamsName(img)}})
		}
	}
	if len(p.Builds) == 0 {
		p.Blockers = append(p.Blockers, "no target can be built: every target in toolchain.yaml is removed")
	}
	return nil
}

// Pins lists the pinned toolchain versions in a stable order: the kernel and
// distro first, then toolchains by name.
func Pins(tc *manifest.Toolchain) []Pin {
	out := []Pin{{"kernel", tc.Kernel.Version}, {"distro", strings.TrimSpace(tc.Distro.Name + " " + tc.Distro.Suite)}}
	names := make([]string, 0, len(tc.Toolchains))
	for n := range tc.Toolchains {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, Pin{n, tc.Toolchains[n].Version})
	}
	return out
}
