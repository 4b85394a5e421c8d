package cutbuild

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/plan"
)

func release(t *testing.T, day time.Time, arches ...string) *cut.Release {
	t.Helper()
	tc, err := manifest.Load("testdata/toolchain.yaml") // a pinned copy of the repository's: the matrix below is its
	if err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{AsOf: day}
	for _, a := range arches {
		p.Builds = append(p.Builds, plan.Build{Arch: a, Variant: "default", Kind: "kernel"},
			plan.Build{Arch: a, Variant: "default", Kind: "initrd", Image: "default"})
	}
	dist := t.TempDir()
	return &cut.Release{Tag: "v2026.12.0", Manifest: tc, AsOf: day, Plan: p, DistRoot: dist,
		Dir: filepath.Join(dist, "v2026.12.0"), Log: slog.New(slog.DiscardHandler)}
}

func TestSpecFollowsThePlan(t *testing.T) {
	day := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	spec, err := Spec(release(t, day, "x86_64", "ppc64le", "x86_64"), "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(spec.Arches, ",") != "x86_64,ppc64le" || spec.KernelVariant != "" || !spec.Verity || spec.FS != "ext4" || !spec.AsOf.Equal(day) {
		t.Errorf("spec = %+v: want the plan's arches once each, the targets' own variants, ext4 with verity, the plan's day", spec)
	}
	if _, err := Spec(release(t, day), ""); err == nil {
		t.Error("a plan that builds nothing gave a spec")
	}
}

func TestDescribeListsTheMatrixWithoutAnEngine(t *testing.T) {
	day := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	b := Builder{Open: func(context.Context, *cut.Release) (*Session, error) {
		t.Fatal("Describe opened an engine session: a dry run must not need one")
		return nil, nil
	}}
	lines, err := b.Describe(context.Background(), release(t, day, "x86_64", "ppc64le"))
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"4 kernels (x86_64/default, x86_64/confidential, x86_64/debug, ppc64le/default)",
		"3 images as initrd + ext4 rootfs with dm-verity (x86_64/default, x86_64/systemd, ppc64le/default)",
		"WARNING: ppc64le/default is deprecated since 2026-09-15 and will be removed on 2027-03-15",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("description lacks %q:\n%s", want, all)
		}
	}
}

func TestBuildRefusesAnotherDirectoryAndReportsTheSessionError(t *testing.T) {
	day := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	r := release(t, day, "x86_64")
	noEngine := errors.New("connect to the Dagger engine: no engine")
	b := Builder{Open: func(context.Context, *cut.Release) (*Session, error) { return nil, noEngine }}
	if err := b.Build(context.Background(), r, filepath.Join(r.DistRoot, "elsewhere")); err == nil || !strings.Contains(err.Error(), "the release tree is") {
		t.Errorf("building outside dist/<tag>: %v", err)
	}
	if err := b.Build(context.Background(), r, r.Dir); !errors.Is(err, noEngine) {
		t.Errorf("error = %v, want the session's", err)
	}
}

func TestDescribeRefusesAnArchWhoseTargetsAreRemoved(t *testing.T) {
	// On its removal date the deprecated ppc64le target is removed: nothing to build.
	day := time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)
	_, err := Builder{}.Describe(context.Background(), release(t, day, "ppc64le"))
	if err == nil || !strings.Contains(err.Error(), "reached its removal date 2027-03-15") {
		t.Errorf("error = %v, want the removal named", err)
	}
}
