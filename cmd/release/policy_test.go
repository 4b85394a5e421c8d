package main

// Tests of `release policy` as the acceptance states them: through
// the cobra command in process (fresh flags per run), and through the real
// binary for exit codes and the live-fetch failure path.

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

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/testenv"
)

const (
	repoRoot = "../.."
	// pinnedYAML is a copy of the repository's toolchain.yaml, with pinnedGoMod
	// beside it, that bumping the live files does not change: the tests below
	// assert on its versions against the feeds snapshot of snapshotDay.
	pinnedYAML    = "testdata/repo/toolchain.yaml"
	pinnedGoMod   = "testdata/repo/go.mod"
	snapshotFeeds = repoRoot + "/testdata/feeds"
	snapshotDay   = "2026-11-22"
)

type policyRun struct {
	stdout, stderr string
	code           int
}

// runPolicy runs `release policy ARGS...` in process, mapping the returned
// error to an exit code exactly as main does (runCLI).
func runPolicy(t *testing.T, args ...string) policyRun {
	t.Helper()
	return policyRun(runCLI(t, newPolicyCmd(), nil, args...))
}

// manifestCopy writes the pinned toolchain.yaml, changed by rw, into a
// temporary directory (which has no go.mod, so only the manifest is checked).
func manifestCopy(t *testing.T, rw manifest.Rewrite) string {
	t.Helper()
	src, err := os.ReadFile(pinnedYAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(rw.Edits)+len(rw.DropExceptions) > 0 {
		if src, err = rw.Apply("toolchain.yaml", src); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "toolchain.yaml")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pinned(t *testing.T) *manifest.Toolchain {
	t.Helper()
	m, err := manifest.Load(pinnedYAML)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPolicyCheckPinnedManifest(t *testing.T) {
	r := runPolicy(t, "check", "--manifest", pinnedYAML, "--feeds", snapshotFeeds, "--as-of", snapshotDay)
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, " 0 violation\n") || !strings.Contains(r.stdout, "\nrust ") || !strings.Contains(r.stdout, "EXCEPTED") {
		t.Errorf("report:\n%s", r.stdout)
	}
}

func TestPolicyCheckRustThreeMinorsBehind(t *testing.T) {
	m := pinned(t)
	exc, ok := m.Policy.Exception("rust")
	rw := manifest.Rewrite{Edits: []manifest.ScalarEdit{{Path: []string{"toolchains", "rust", "version"}, Old: m.Toolchains["rust"].Version, New: "1.97.0"}}}
	if ok {
		rw.DropExceptions = []int{exc.Index}
	}
	path := manifestCopy(t, rw)
	r := runPolicy(t, "check", "--manifest", path, "--feeds", snapshotFeeds, "--as-of", snapshotDay)
	if r.code != exitViolation {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "rust 1.97 is 3 releases behind 1.100 (N-2 allows >= 1.98)") || !strings.Contains(r.stderr, "outside the N-2 policy: rust") {
		t.Errorf("output does not name rust:\n%s%s", r.stdout, r.stderr)
	}
}

func TestPolicyCheckMalformedManifest(t *testing.T) {
	src, err := os.ReadFile(pinnedYAML)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), "architectures: [", "architectures: [sparc64, ", 1)
	bad = strings.Replace(bad, "epoch:", "epoch: -1\nepcoh:", 1)
	p := filepath.Join(t.TempDir(), "toolchain.yaml")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runPolicy(t, "check", "--manifest", p, "--feeds", snapshotFeeds, "--as-of", snapshotDay)
	if r.code != exitBadInput {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(r.stderr, "release: ")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], p+":") || !strings.Contains(lines[1], `unknown key "epcoh": did you mean "epoch"?`) ||
		!strings.Contains(lines[2], `unknown architecture "sparc64"`) {
		t.Errorf("want every problem as file:line:col:\n%s", r.stderr)
	}
	for _, l := range lines {
		if parts := strings.SplitN(strings.TrimPrefix(l, p+":"), ":", 3); len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			t.Errorf("%q does not start with file:line:col", l)
		}
	}
}

// expiring is a small manifest whose rust pin lives on an exception.
const expiring = `epoch: 1767225600
policy:
  lag: 2
  exceptions:
    - {name: rust, allow: "1.95.0", until: "2027-01-31", reason: "msrv"}
toolchains:
  go:   {version: "1.26.8", feed: go}
  rust: {version: "1.95.0", feed: rust}
kernel: {version: "6.12.117", url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.117.tar.xz", sha256: "e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703", feed: kernel}
distro: {name: debian, suite: bookworm, mirror: "http://deb.debian.org/debian"}
architectures: [x86_64]
targets:
  - {arch: x86_64, variant: default, images: [default], status: supported, maintainers: ["@g/x86"]}
`

func TestPolicyCheckExpiredException(t *testing.T) {
	path := filepath.Join(t.TempDir(), "toolchain.yaml")
	if err := os.WriteFile(path, []byte(expiring), 0o644); err != nil {
		t.Fatal(err)
	}
	statusOn := func(day string) (int, string, string) {
		r := runPolicy(t, "check", "--manifest", path, "--feeds", snapshotFeeds, "--as-of", day, "--format", "json")
		var rep struct {
			Rows []struct{ Name, Status, Why string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("--format json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		for _, row := range rep.Rows {
			if row.Name == "rust" {
				return r.code, row.Status, row.Why
			}
		}
		t.Fatalf("no rust row:\n%s", r.stdout)
		return 0, "", ""
	}
	if code, status, _ := statusOn("2027-01-31"); code != exitOK || status != "excepted" {
		t.Errorf("on the until date: exit %d, rust %s; want 0, excepted", code, status)
	}
	code, status, why := statusOn("2027-02-01")
	if code != exitViolation || status != "violation" || !strings.HasSuffix(why, "the exception at "+path+":5 expired on 2027-01-31: bump rust and remove the exception, or renew it with a new until and reason") {
		t.Errorf("the day after: exit %d, rust %s: %s", code, status, why)
	}
}

func TestPolicyBumpWrite(t *testing.T) {
	path := manifestCopy(t, manifest.Rewrite{})
	before, _ := os.ReadFile(path)
	gomod := pinnedGoMod
	r := runPolicy(t, "bump", "--manifest", path, "--gomod", gomod, "--feeds", snapshotFeeds, "--as-of", snapshotDay, "--write")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, ": go 1.26.8 -> 1.27.3 (bump --write edits this)") || !strings.Contains(r.stdout, ": rust 1.95.0 -> 1.100.0 (bump --write edits this)") ||
		!strings.Contains(r.stdout, "drop exception rust") || !strings.Contains(r.stderr, "wrote "+path) {
		t.Errorf("bump output:\n%s%s", r.stdout, r.stderr)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(path, after)
	if err != nil {
		t.Fatalf("bumped manifest does not parse:\n%v", err)
	}
	if m.Toolchains["go"].Version != "1.27.3" || m.Toolchains["rust"].Version != "1.100.0" {
		t.Errorf("pins after --write: %+v", m.Toolchains)
	}
	if _, ok := m.Policy.Exception("rust"); ok {
		t.Error("the rust exception is no longer needed but was kept")
	}
	// Every comment line survives: only version scalars and the dropped
	// exception's own lines changed.
	for _, line := range strings.Split(string(before), "\n") {
		if c := strings.TrimSpace(line); strings.HasPrefix(c, "#") && !strings.Contains(string(after), line) {
			t.Errorf("comment lost: %q", line)
		}
	}
	if r := runPolicy(t, "check", "--manifest", path, "--gomod", gomod, "--feeds", snapshotFeeds, "--as-of", snapshotDay); r.code != exitOK {
		t.Errorf("check after bump --write: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPolicyBadInputs(t *testing.T) {
	for _, args := range [][]string{
		{"check", "--manifest", pinnedYAML, "--feeds", snapshotFeeds, "--as-of", "22/11/2026"},
		{"check", "--manifest", pinnedYAML, "--feeds", snapshotFeeds, "--format", "xml"},
		{"check", "--manifest", pinnedYAML, "--feeds", filepath.Join(t.TempDir(), "none"), "--as-of", snapshotDay},
		{"check", "--manifest", filepath.Join(t.TempDir(), "missing.yaml"), "--feeds", snapshotFeeds},
	} {
		if r := runPolicy(t, args...); r.code != exitBadInput {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}

var (
	policyBinOnce sync.Once
	policyBinPath string
	policyBinErr  error
)

// policyBinary builds cmd/release once for the exec tests below.
func policyBinary(t *testing.T) string {
	t.Helper()
	goTool := testenv.RequireTool(t, "go")
	policyBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "guestforge-policy-bin-")
		if err != nil {
			policyBinErr = err
			return
		}
		policyBinPath = filepath.Join(dir, "release")
		if out, err := exec.Command(goTool, "build", "-o", policyBinPath, ".").CombinedOutput(); err != nil {
			policyBinErr = errors.New(string(out))
		}
	})
	if policyBinErr != nil {
		t.Fatalf("build cmd/release: %v", policyBinErr)
	}
	return policyBinPath
}

func TestPolicyBinary(t *testing.T) {
	bin := policyBinary(t)
	run := func(env []string, args ...string) policyRun {
		cmd := exec.Command(bin, args...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r := policyRun{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("acceptance command exits 0", func(t *testing.T) {
		// README's command, on the pinned manifest: the live one moves with every bump.
		r := run(nil, "policy", "check", "--manifest", "cmd/release/"+pinnedYAML, "--feeds", "testdata/feeds", "--as-of", snapshotDay)
		if r.code != 0 {
			t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("unreachable live feeds say how to run offline", func(t *testing.T) {
		// A proxy on a port nothing listens on makes every fetch fail at once,
		// whatever network the machine has.
		env := []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=", "no_proxy="}
		r := run(env, "policy", "check", "--as-of", snapshotDay, "--timeout", "20s")
		if r.code != 2 {
			t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"go feed: cannot reach https://go.dev/dl/?mode=json&include=all", "rust feed: cannot reach", "kernel feed: cannot reach https://www.kernel.org/releases.json", "to run offline pass --feeds DIR"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})
}
