// Package main is guestforge's Dagger module: thin functions over internal/build and
// internal/policy, so `dagger call` and `release build` run the same pipeline code.
//
//	dagger call kernel --arch=x86_64 --variant=test export --path=dist/
//	dagger call policy-check --feeds=testdata/feeds --as-of=2026-11-22
package main

import (
	"bytes"
	"context"
	"fmt"
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
	c, err := lib.Connect(ctx, lib.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p := build.New(c, os.Stderr)
	src, err := m.libDirectory(ctx, c)
	if err != nil {
		return nil, err
	}
	repo, err := p.RepoFromDirectory(ctx, src)
	if err != nil {
		return nil, err
	}
	k, err := p.GatedKernel(ctx, repo, build.KernelSpec{Arch: a, Variant: variant}, day)
	if err != nil {
		return nil, err
	}
	id, err := k.Dir.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
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
	tcData, err := m.Source.File(build.ToolchainFile).Contents(ctx)
	if err != nil {
		return "", err
	}
	tc, err := manifest.Parse(build.ToolchainFile, []byte(tcData))
	if err != nil {
		return "", err
	}
	modData, err := m.Source.File("go.mod").Contents(ctx)
	if err != nil {
		return "", err
	}
	deps, err := policy.ParseDirectDeps("go.mod", []byte(modData))
	if err != nil {
		return "", err
	}
	day, err := policy.ParseAsOf(asOf)
	if err != nil {
		return "", err
	}
	var src policy.Source = policy.LiveSource{Client: &http.Client{Timeout: 30 * time.Second}, GoProxy: policy.DefaultGoProxy}
	if feeds != nil {
		dir, err := os.MkdirTemp("", "guestforge-feeds-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		if _, err := feeds.Export(ctx, dir); err != nil {
			return "", err
		}
		src = policy.DirSource{Dir: filepath.Clean(dir)}
	}
	f, err := policy.LoadFeeds(ctx, src, policy.NeedsFor(tc, deps))
	if err != nil {
		return "", err
	}
	rep, err := policy.Check(tc, deps, f, day)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		return "", err
	}
	if v := rep.Violations(); len(v) > 0 {
		names := make([]string, len(v))
		for i, row := range v {
			names[i] = row.Name
		}
		return "", fmt.Errorf("%s\n%d pin(s) outside the N-%d policy: %s", buf.String(), len(v), rep.Lag, strings.Join(names, ", "))
	}
	return buf.String(), nil
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
