// Package main is guestforge's Dagger module: thin functions over internal/build and
// internal/policy, so `dagger call` and `release build` run the same pipeline code.
//
//	dagger call kernel --arch=x86_64 --kernel-variant=test export --path=dist/
//	dagger call policy-check --feeds=testdata/feeds --as-of=2026-11-22
package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	lib "dagger.io/dagger"

	"github.com/guestforge/guestforge/ci/internal/dagger"
	gfarch "github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
)

// Guestforge builds guest kernels and gates the toolchain policy.
type Guestforge struct {
	// +private
	Source *dagger.Directory
}

// New takes the guestforge checkout; by default the repository the module lives in.
func New(
	// +defaultPath="/"
	// +ignore=["dist", ".git", "**/*.test"]
	source *dagger.Directory,
) *Guestforge {
	return &Guestforge{Source: source}
}

// Kernel builds the guest kernel for one architecture and config variant and returns a
// directory holding <arch>/vmlinux-, vmlinuz-, config- and System.map-<release>-<config id>.
// A variant that is a target of the arch passes the support gate of `release build`
// first (build.GatedKernel): a removed target is refused, a deprecated one warns.
func (m *Guestforge) Kernel(
	ctx context.Context,
	// x86_64, aarch64, s390x or ppc64le
	// +default="x86_64"
	arch string,
	// test (smallest bootable), default, or a kernel-configs/variants/ name
	// +default="test"
	kernelVariant string,
	// deprecated: the old name of --kernel-variant, which it overrides when given
	// +optional
	variant string,
	// the day deprecated targets are judged on, YYYY-MM-DD (default: today, UTC)
	// +optional
	asOf string,
) (*dagger.Directory, error) {
	a, err := gfarch.Parse(arch)
	if err != nil {
		return nil, err
	}
	day, err := policy.ParseAsOf(asOf)
	if err != nil {
		return nil, err
	}
	return m.images(ctx, func(ctx context.Context, _ *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		k, err := p.GatedKernel(ctx, repo, build.KernelSpec{Arch: a, Variant: cmp.Or(variant, kernelVariant)}, day)
		if err != nil {
			return nil, err
		}
		return k.Dir, nil
	})
}

// PolicyCheck evaluates toolchain.yaml and go.mod's direct requirements against the
// upstream release feeds (the N-2 policy) and returns the report; a violation is an
// error.
//
// Live feeds change without any input changing, so a verdict is never reused across runs.
// +cache="session"
func (m *Guestforge) PolicyCheck(
	ctx context.Context,
	// directory of feeds laid out as testdata/feeds (offline); default: fetch them live
	// +optional
	feeds *dagger.Directory,
	// date of evaluation, YYYY-MM-DD; default: today (UTC)
	// +optional
	asOf string,
) (string, error) {
	day, err := policy.ParseAsOf(asOf)
	if err != nil {
		return "", err
	}
	tc, deps, err := m.policyInputs(ctx)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "guestforge-feeds-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	src, err := policySource(ctx, feeds, dir)
	if err != nil {
		return "", err
	}
	rep, err := policy.Evaluate(ctx, src, tc, deps, day)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		return "", err
	}
	if v := rep.ViolationNames(); len(v) > 0 {
		return "", fmt.Errorf("%s\n%d pin(s) outside the N-%d policy: %s", buf.String(), len(v), rep.Lag, strings.Join(v, ", "))
	}
	return buf.String(), nil
}

// policyInputs reads the checkout's toolchain.yaml and go.mod's direct requirements.
func (m *Guestforge) policyInputs(ctx context.Context) (*manifest.Toolchain, []policy.Dependency, error) {
	tcData, err := m.Source.File(build.ToolchainFile).Contents(ctx)
	if err != nil {
		return nil, nil, err
	}
	tc, err := manifest.Parse(build.ToolchainFile, []byte(tcData))
	if err != nil {
		return nil, nil, err
	}
	modData, err := m.Source.File("go.mod").Contents(ctx)
	if err != nil {
		return nil, nil, err
	}
	deps, err := policy.ParseDirectDeps("go.mod", []byte(modData))
	if err != nil {
		return nil, nil, err
	}
	return tc, deps, nil
}

// policySource is where the gate reads upstream's releases: the feeds directory,
// exported to dir, or upstream itself.
func policySource(ctx context.Context, feeds *dagger.Directory, dir string) (policy.Source, error) {
	if feeds == nil {
		return policy.LiveSource{Client: &http.Client{Timeout: 30 * time.Second}, GoProxy: policy.DefaultGoProxy}, nil
	}
	if _, err := feeds.Export(ctx, dir); err != nil {
		return nil, err
	}
	return policy.DirSource{Dir: filepath.Clean(dir)}, nil
}

// session is a library client of this function's engine session, the pipeline
// over it and the module's checkout: what every function builds with.
type session struct {
	client   *lib.Client
	pipeline *build.Pipeline
	repo     *build.Repo
}

// session joins the engine session; progress gets the pipeline's progress (nil:
// none). The caller closes s.client.
func (m *Guestforge) session(ctx context.Context, progress io.Writer) (*session, error) {
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, err
	}
	p := build.New(c, progress)
	src, err := m.libDirectory(ctx, c)
	if err != nil {
		c.Close()
		return nil, err
	}
	repo, err := p.RepoFromDirectory(ctx, src)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &session{client: c, pipeline: p, repo: repo}, nil
}

// libDirectory hands the module's source directory to the library client of the same
// session (internal/build speaks the library client's types).
func (m *Guestforge) libDirectory(ctx context.Context, c *lib.Client) (*lib.Directory, error) {
	id, err := m.Source.ID(ctx)
	if err != nil {
		return nil, err
	}
	return c.LoadDirectoryFromID(lib.DirectoryID(id)), nil
}
