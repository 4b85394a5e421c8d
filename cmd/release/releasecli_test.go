package main

// Tests of `release plan` and `release cut` through the real binary, in
// temporary git repositories with tags, as a release manager runs them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

var (
	relBinOnce sync.Once
	relBinPath string
	relBinErr  error
)

// TestMain removes the binary relBinary built. (Package main has one
// TestMain: add to this one rather than declaring another.)
func TestMain(m *testing.M) {
	code := m.Run()
	// Both exec helpers build cmd/release into a directory of their own.
	for _, bin := range []string{relBinPath, policyBinPath} {
		if bin != "" {
			os.RemoveAll(filepath.Dir(bin))
		}
	}
	os.Exit(code)
}

// relBinary builds cmd/release once per test run.
func relBinary(t *testing.T) string {
	t.Helper()
	relBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "guestforge-release-bin-")
		if err != nil {
			relBinErr = err
			return
		}
		relBinPath = filepath.Join(dir, "release")
		out, err := exec.Command("go", "build", "-o", relBinPath, ".").CombinedOutput()
		if err != nil {
			relBinErr = errors.New(string(out))
		}
	})
	if relBinErr != nil {
		t.Fatalf("build cmd/release: %v", relBinErr)
	}
	return relBinPath
}

// relResult is one run of the binary.
type relResult struct {
	stdout, stderr string
	code           int
}

func relRun(t *testing.T, dir string, env []string, args ...string) relResult {
	t.Helper()
	cmd := exec.Command(relBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := relResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run release %v: %v", args, err)
	}
	return res
}

// relFixture is a release history repository with the plan package's test
// manifest and feed snapshot (absolute paths, so commands can run anywhere).
type relFixture struct {
	repo             *changestest.Repo
	feeds, violation string
	keyDir           string
	env              []string
}

func newRelFixture(t *testing.T) *relFixture {
	t.Helper()
	data, err := os.ReadFile("../../internal/release/plan/testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &relFixture{repo: changestest.History(t, data)}
	f.repo.Git("2026-04-15", "config", "user.name", "Release Manager")
	f.repo.Git("2026-04-15", "config", "user.email", "rm@example.invalid")
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	f.feeds = abs("../../internal/release/plan/testdata/feeds")
	f.violation = abs("../../internal/release/plan/testdata/feeds-violation")
	f.keyDir = t.TempDir()
	const password = "release-test-password"
	if _, _, err := sign.WriteKeyPair(f.keyDir, []byte(password)); err != nil {
		t.Fatal(err)
	}
	f.env = []string{sign.PasswordEnv + "=" + password, "RELEASE_KEY=" + filepath.Join(f.keyDir, sign.PrivateKeyFile)}
	return f
}

func (f *relFixture) run(t *testing.T, args ...string) relResult {
	t.Helper()
	return relRun(t, f.repo.Dir, f.env, args...)
}

func TestReleasePlanPicksTheVersion(t *testing.T) {
	f := newRelFixture(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"normal month", []string{"--as-of", "2026-04-15"}, "Next version: v1.2.0 (minor)\n  why: monthly minor for 2026-04: today is release day 15"},
		{"month that already has its release", []string{"--as-of", "2026-03-20"}, "Next version: nothing to do\n  why: the 2026-03 release is out: v1.1.0 on 2026-03-15"},
		{"patch", []string{"--as-of", "2026-03-30", "--patch"}, "Next version: v1.1.1 (patch)"},
		{"major", []string{"--as-of", "2026-04-03", "--major"}, "Next version: v2.0.0-rc.1 (major-rc)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.run(t, append([]string{"plan", "--feeds", f.feeds}, c.args...)...)
			if res.code != 0 || !strings.Contains(res.stdout, c.want) {
				t.Errorf("exit %d, want 0 and %q in:\n%s\nstderr: %s", res.code, c.want, res.stdout, res.stderr)
			}
		})
	}

	// The major path to the end: rc.1 tagged, then --final promotes it.
	f.repo.Tag("2026-04-03", "v2.0.0-rc.1")
	res := f.run(t, "plan", "--feeds", f.feeds, "--as-of", "2026-04-05", "--major", "--final", "--format", "json")
	var p struct {
		Decision struct{ Kind, Tag string }
		Changes  struct{ Commits []struct{ PRs []int } }
	}
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil || res.code != 0 {
		t.Fatalf("json plan (exit %d): %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	if p.Decision.Kind != "major" || p.Decision.Tag != "v2.0.0" || len(p.Changes.Commits) != 3 || p.Changes.Commits[0].PRs[0] != 13 {
		t.Errorf("json plan: %+v", p)
	}

	// Blocked by the policy: exit 1, and the blocker is named.
	res = f.run(t, "plan", "--feeds", f.violation, "--as-of", "2026-04-15")
	if res.code != 1 || !strings.Contains(res.stdout, "BLOCKED") || !strings.Contains(res.stdout, "policy: go 1.26.8") {
		t.Errorf("policy violation: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// Bad input: exit 2.
	if res = f.run(t, "plan", "--feeds", f.feeds, "--as-of", "15/04/2026"); res.code != 2 {
		t.Errorf("bad date: exit %d, want 2", res.code)
	}
}

func TestReleaseCutDryRun(t *testing.T) {
	f := newRelFixture(t)
	tagsBefore := f.repo.Git("2026-04-15", "tag", "-l")
	res := f.run(t, "cut", "--dry-run", "--feeds", f.feeds, "--as-of", "2026-04-15", "--key", filepath.Join(f.keyDir, "cosign.key"))
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"Next version: v1.2.0 (minor)", // the plan
		"[1/8] policy: would run", "[2/8] build: would run", "[3/8] attest: would run", "[4/8] sign: would run",
		"[5/8] publish: would run", "[6/8] verify: would run", "[7/8] notes: would run", "[8/8] tag: would run",
		"tags ghcr.io/guestforge/guest-images:v1.2.0-x86_64",
		"Dry run complete: 8 stages would run, 0 are already done.",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, res.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(f.repo.Dir, "dist")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run wrote dist/ (%v)", err)
	}
	if got := f.repo.Git("2026-04-15", "tag", "-l"); got != tagsBefore {
		t.Errorf("tags changed by a dry run: %q -> %q", tagsBefore, got)
	}
	if st := f.repo.Git("2026-04-15", "status", "--porcelain"); st != "" {
		t.Errorf("the dry run left changes in the checkout:\n%s", st)
	}

	// Nothing to do is not an error.
	res = f.run(t, "cut", "--dry-run", "--feeds", f.feeds, "--as-of", "2026-03-20", "--key", filepath.Join(f.keyDir, "cosign.key"))
	if res.code != 0 || !strings.Contains(res.stdout, "Nothing to cut.") {
		t.Errorf("month already released: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// A missing key is caught by the dry run, before anything is built.
	res = f.run(t, "cut", "--dry-run", "--feeds", f.feeds, "--as-of", "2026-04-15", "--key", filepath.Join(f.keyDir, "missing.key"))
	if res.code == 0 || !strings.Contains(res.stderr, "release keygen") {
		t.Errorf("missing key: exit %d\n%s", res.code, res.stderr)
	}
	// --resume with nothing in progress says so.
	res = f.run(t, "cut", "--resume", "--feeds", f.feeds, "--key", filepath.Join(f.keyDir, "cosign.key"))
	if res.code != 2 || !strings.Contains(res.stderr, "no cut in progress") {
		t.Errorf("resume with nothing in progress: exit %d\n%s", res.code, res.stderr)
	}
}
