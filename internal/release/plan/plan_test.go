package plan_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/version"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// setup makes the release history repository and loads its manifest.
func setup(t *testing.T) (*changestest.Repo, *manifest.Toolchain) {
	t.Helper()
	data, err := os.ReadFile("testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := changestest.History(t, data)
	tc, err := manifest.Load(filepath.Join(r.Dir, "toolchain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return r, tc
}

func feeds(dir string) plan.Policy {
	return plan.PolicyCheck{Source: policy.DirSource{Dir: dir}}
}

func mkPlan(t *testing.T, r *changestest.Repo, tc *manifest.Toolchain, asOf string, flags plan.Flags) *plan.Plan {
	t.Helper()
	p, err := plan.Make(context.Background(), plan.Input{Repo: r.Dir, Manifest: tc, AsOf: day(asOf), Flags: flags, Policy: feeds("testdata/feeds")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanNormalMonth(t *testing.T) {
	r, tc := setup(t)
	p := mkPlan(t, r, tc, "2026-04-15", plan.Flags{})
	if p.Decision.Kind != version.KindMinor || p.Decision.Tag != "v1.2.0" || p.Decision.Previous != "v1.1.0" {
		t.Fatalf("decision %+v, want minor v1.2.0 after v1.1.0", p.Decision)
	}
	if len(p.Changes.Commits) != 3 || p.Changes.Since != "v1.1.0" {
		t.Errorf("changes since %q: %d commits, want 3 since v1.1.0", p.Changes.Since, len(p.Changes.Commits))
	}
	if len(p.Changes.Breaking) != 1 || p.Changes.Breaking[0].PRs[0] != 14 {
		t.Errorf("breaking changes %+v, want the 9p change (#14)", p.Changes.Breaking)
	}
	if !p.Policy.Pass || len(p.Blockers) != 0 {
		t.Errorf("policy %+v blockers %q, want a pass", p.Policy, p.Blockers)
	}
	if len(p.Policy.Findings) != 3 {
		t.Errorf("policy findings %+v, want go, rust, kernel", p.Policy.Findings)
	}

	// The matrix: six targets, ppc64le deprecated with its removal date and
	// no maintainer; images are built once per arch.
	if len(p.Targets) != 6 {
		t.Fatalf("targets %d, want 6", len(p.Targets))
	}
	var ppc plan.Target
	for _, tg := range p.Targets {
		if tg.Arch == "ppc64le" {
			ppc = tg
		}
	}
	flags := strings.Join(ppc.Flags, "\n")
	if !ppc.Build || ppc.Status != "deprecated" || !strings.Contains(flags, "removed on 2027-03-15") || !strings.Contains(flags, "has no maintainer") {
		t.Errorf("ppc64le target %+v: want built, deprecated, removal date and no-maintainer flags", ppc)
	}
	kinds := map[string]int{}
	for _, b := range p.Builds {
		kinds[b.Kind]++
	}
	if kinds["kernel"] != 6 || kinds["initrd"] != 6 || kinds["rootfs"] != 6 {
		t.Errorf("builds %v, want 6 kernels (one per target) and 6 initrd + 6 rootfs (x86_64 and aarch64: default, systemd; s390x, ppc64le: default)", kinds)
	}

	var out bytes.Buffer
	if err := p.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Next version: v1.2.0 (minor)",
		"why: monthly minor for 2026-04: today is release day 15; v1.2.0 follows v1.1.0",
		"BREAKING: drop the 9p default (#14)",
		"Toolchain policy: PASS",
		"ppc64le/default is deprecated since 2026-09-15 and will be removed on 2027-03-15",
		"Ready: `release cut` would release v1.2.0.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPlanMonthAlreadyReleased(t *testing.T) {
	r, tc := setup(t)
	p := mkPlan(t, r, tc, "2026-03-20", plan.Flags{})
	if !p.Nothing() || !strings.Contains(p.Decision.Reason, "the 2026-03 release is out: v1.1.0") {
		t.Errorf("decision %+v, want nothing to do (March has v1.1.0)", p.Decision)
	}
	var out bytes.Buffer
	p.WriteText(&out)
	if !strings.Contains(out.String(), "Next version: nothing to do") || strings.Contains(out.String(), "Ready:") {
		t.Errorf("plan text:\n%s", out.String())
	}
}

func TestPlanPatch(t *testing.T) {
	r, tc := setup(t)
	p := mkPlan(t, r, tc, "2026-03-30", plan.Flags{Patch: true})
	if p.Decision.Kind != version.KindPatch || p.Decision.Tag != "v1.1.1" {
		t.Errorf("decision %+v, want patch v1.1.1", p.Decision)
	}
}

func TestPlanMajor(t *testing.T) {
	r, tc := setup(t)
	p := mkPlan(t, r, tc, "2026-04-03", plan.Flags{Major: true})
	if p.Decision.Kind != version.KindMajorRC || p.Decision.Tag != "v2.0.0-rc.1" {
		t.Fatalf("decision %+v, want v2.0.0-rc.1", p.Decision)
	}
	r.Tag("2026-04-03", "v2.0.0-rc.1")
	p = mkPlan(t, r, tc, "2026-04-10", plan.Flags{Major: true, Final: true})
	if p.Decision.Kind != version.KindMajor || p.Decision.Tag != "v2.0.0" {
		t.Fatalf("decision %+v, want v2.0.0", p.Decision)
	}
	// The major counts as April's release.
	r.Tag("2026-04-10", "v2.0.0")
	if p = mkPlan(t, r, tc, "2026-04-15", plan.Flags{}); !p.Nothing() {
		t.Errorf("after v2.0.0 in April: %+v, want nothing to do", p.Decision)
	}
	// Nothing to do: the changes are what waits for the next release.
	if p.Changes.Since != "v2.0.0" || len(p.Changes.Commits) != 0 {
		t.Errorf("pending changes: since %q, %d commits; want none since v2.0.0", p.Changes.Since, len(p.Changes.Commits))
	}
}

func TestPlanPolicyViolationBlocks(t *testing.T) {
	r, tc := setup(t)
	p, err := plan.Make(context.Background(), plan.Input{Repo: r.Dir, Manifest: tc, AsOf: day("2026-04-15"), Policy: feeds("testdata/feeds-violation")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy.Pass || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], "policy: go 1.26.8") {
		t.Errorf("policy %+v blockers %q, want go 1.26 blocked (1.29 is out)", p.Policy, p.Blockers)
	}
	var out bytes.Buffer
	p.WriteText(&out)
	if !strings.Contains(out.String(), "BLOCKED: `release cut` would stop:") {
		t.Errorf("plan text:\n%s", out.String())
	}
}

func TestPlanBadInputs(t *testing.T) {
	r, tc := setup(t)
	_, err := plan.Make(context.Background(), plan.Input{Repo: r.Dir, Manifest: tc, AsOf: day("2026-04-15"), Flags: plan.Flags{Version: "v1.9.0"}, Policy: feeds("testdata/feeds")})
	if err == nil || !strings.Contains(err.Error(), "does not follow the last release") {
		t.Errorf("skipping version: %v", err)
	}
	_, err = plan.Make(context.Background(), plan.Input{Repo: t.TempDir(), Manifest: tc, AsOf: day("2026-04-15"), Policy: feeds("testdata/feeds")})
	if err == nil || !strings.Contains(err.Error(), "git clone") {
		t.Errorf("not a git repo: %v", err)
	}
	_, err = plan.Make(context.Background(), plan.Input{Repo: r.Dir, Manifest: tc, AsOf: day("2026-04-15"), Policy: feeds(t.TempDir())})
	if !errors.Is(err, policy.ErrFeedUnavailable) {
		t.Errorf("missing feeds: %v", err)
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	r, tc := setup(t)
	p := mkPlan(t, r, tc, "2026-04-15", plan.Flags{})
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := plan.ReadJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	p.WriteText(&a)
	back.WriteText(&b)
	if a.String() != b.String() {
		t.Errorf("plan read back from JSON prints differently:\n%s\n---\n%s", a.String(), b.String())
	}
	if _, err := plan.ReadJSON(strings.NewReader(`{"decision": {}}`)); err == nil {
		t.Error("an empty plan was accepted")
	}
}
