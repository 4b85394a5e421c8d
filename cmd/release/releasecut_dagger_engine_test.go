//go:build engine

package main

// Tier 2: `release cut` without --artifacts builds the plan's matrix itself,
// through the Dagger pipelines, into dist/<version>/.
//
// Cost: the matrix is one x86_64 target on the test kernel with the default
// image, the inputs of the cached x86_64 test matrix (same manifest pins,
// fragments, image): warm, about a minute (the initrd is packed every time,
// the rest is cache hits); on a fresh machine it builds the test kernel and
// the default rootfs first, about 20 minutes on 2 cores.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/report"
)

// testTargets replaces the targets of the plan's test manifest: the x86_64
// test kernel with the default image.
const testTargets = `targets:
  - {arch: x86_64, variant: test, images: [default], status: supported, maintainers: ["@guestforge/x86-maintainers"]}
`

func TestReleaseCutBuildsThroughDagger(t *testing.T) {
	data, err := os.ReadFile("../../internal/release/plan/testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tc := string(data)
	i := strings.Index(tc, "\ntargets:")
	if i < 0 {
		t.Fatal("the test manifest has no targets: section")
	}
	tc = tc[:i+1] + testTargets

	f := newRelFixture(t)
	f.repo = changestest.History(t, []byte(tc))
	f.repo.Git("2026-04-15", "config", "user.name", "Release Manager")
	f.repo.Git("2026-04-15", "config", "user.email", "rm@example.invalid")
	// What the pipelines read, exactly as in this checkout, so the engine's
	// caches of the x86_64 test matrix apply.
	for _, p := range []string{"kernel-configs", "images", "builders", "cmd/bootprobe", "internal/arch", "go.mod", "go.sum"} {
		dst := filepath.Join(f.repo.Dir, p)
		if err := os.RemoveAll(dst); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", filepath.Join("../..", p), dst).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}

	res := f.run(t, "cut", "--until", "build", "--gomod", "none", "--feeds", f.feeds, "--as-of", "2026-04-15",
		"--key", filepath.Join(f.keyDir, "cosign.key"))
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, tail(res.stderr, 60))
	}
	dist := filepath.Join(f.repo.Dir, "dist")
	tree := filepath.Join(dist, "v1.2.0", "x86_64")
	entries, err := os.ReadDir(tree)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	all := strings.Join(names, " ")
	// Releases are in Kata's layout: the hash tree is p2 of rootfs-default.img and
	// verity-default.params is what configuration.toml's kernel_verity_params takes.
	for _, want := range []string{"vmlinuz-6.12.117-", "vmlinux-6.12.117-", "config-6.12.117-", "initrd-default.img",
		"rootfs-default.img", "verity-default.params", "verity-default.cmdline", "root_hash.txt"} {
		if !strings.Contains(all, want) {
			t.Errorf("dist/v1.2.0/x86_64 lacks %s: %s", want, all)
		}
	}
	if strings.Contains(all, "rootfs-default.img.verity") {
		t.Errorf("dist/v1.2.0/x86_64 holds a separate hash tree, which only the raw layout writes: %s", all)
	}
	top, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("dist holds %s after the build: a temporary export was left behind", e.Name())
		}
	}
	var st struct {
		Stages []struct{ Name string }
	}
	stData, err := os.ReadFile(filepath.Join(dist, "v1.2.0.release", "state.json"))
	if err != nil || json.Unmarshal(stData, &st) != nil || len(st.Stages) != 2 || st.Stages[1].Name != "build" {
		t.Errorf("state after --until build: %v\n%s", err, stData)
	}
	r, err := report.ReadJSON(filepath.Join(dist, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "v1.2.0" || r.Totals.Failed != 0 || r.Totals.Artifacts < 7 {
		t.Errorf("report: version %s totals %+v", r.Version, r.Totals)
	}
	for _, a := range r.Artifacts {
		if a.Kind == "vmlinuz" && (a.Step != "kernel/x86_64/test" || a.Support != "supported" || len(a.Maintainers) != 1 || a.Log == "") {
			t.Errorf("kernel row: %+v", a)
		}
	}
	if _, err := os.Stat(filepath.Join(dist, report.HTMLFile)); err != nil {
		t.Error(err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
