//go:build engine

package main

// Tier 2: the release workflow's `dagger call release ... cut` chain, word for word,
// as a dry run over this checkout. It proves what no unit test can: the module
// loads, every function and flag the workflow names exists on the chained objects,
// the secrets reach the stages through them, and the dry run comes back as
// dist/<version>.dry-run.txt. The test adds only --feeds (the snapshot, offline) and
// gives the workflow's ${{ }} expressions values.
//
// Cost: the Dagger CLI builds the module (minutes when the engine has not built it
// yet, seconds after); the dry run itself builds, signs and publishes nothing.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// feedsSnapshotDay is the day testdata/feeds was fetched (testdata/feeds/README.md):
// this checkout's pins pass the policy against it on that day.
const feedsSnapshotDay = "2026-12-03"

// workflowIdentity is what ${{ github.workflow_ref }} would be on main.
const workflowIdentity = "guestforge/guestforge/.github/workflows/release.yaml@refs/heads/main"

func TestWorkflowDaggerCallReleaseDryRun(t *testing.T) {
	dagger := testenv.RequireTool(t, "dagger")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	feeds := filepath.Join(root, "testdata", "feeds")
	// --major decides a version whatever the tags and the calendar say.
	plan := relRun(t, root, nil, "plan", "--major", "--as-of", feedsSnapshotDay, "--feeds", feeds, "--format", "json")
	var p struct{ Decision struct{ Tag string } }
	if plan.code != 0 || json.Unmarshal([]byte(plan.stdout), &p) != nil || p.Decision.Tag == "" {
		t.Fatalf("release plan (exit %d) gave no version to cut:\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "plan.json"), []byte(plan.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	words := workflowReleaseArgs(t, map[string]string{
		"needs.plan.outputs.version": p.Decision.Tag,
		"env.DRY_RUN":                "true",
		"github.actor":               "release-bot",
		"github.workflow_ref":        workflowIdentity,
		"github.server_url":          "https://github.com",
		"github.repository":          "guestforge/guestforge",
		"github.run_id":              "1",
	})
	call := append([]string{"--progress=plain", "call", "-m", root, "release", "--feeds=" + feeds}, words[1:]...)
	cmd := exec.Command(dagger, call...)
	cmd.Dir = work // where the workflow's relative --plan and --path point
	cmd.Env = append(os.Environ(), "REGISTRY_PASSWORD=not-a-token",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=not-a-token", "ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:9/token")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dagger %s: %v\n%s", strings.Join(call, " "), err, tail(string(out), 80))
	}
	got, err := os.ReadFile(filepath.Join(work, "dist", p.Decision.Tag+".dry-run.txt"))
	if err != nil {
		t.Fatalf("the dry run returned no %s.dry-run.txt: %v\n%s", p.Decision.Tag, err, tail(string(out), 40))
	}
	for _, want := range []string{
		"keyless: Fulcio certificate",            // with-keyless reached the sign stage
		"https://github.com/" + workflowIdentity, // and its --certificate-identity the verify stage
		"Dry run complete",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s.dry-run.txt lacks %q:\n%s", p.Decision.Tag, want, got)
		}
	}
}

// workflowReleaseArgs is the args of release.yaml's `dagger call release` step as
// the runner's shell splits them, every expression replaced by its value in exprs.
func workflowReleaseArgs(t *testing.T, exprs map[string]string) []string {
	t.Helper()
	var args string
	for _, s := range loadWorkflow(t, "release.yaml").Jobs["release"].Steps {
		if strings.HasPrefix(s.Uses, "dagger/dagger-for-github") && strings.HasPrefix(s.With["args"], "release ") {
			args = s.With["args"]
		}
	}
	if args == "" {
		t.Fatal("release.yaml: the release job has no dagger-for-github step whose args start with release")
	}
	expr := regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
	args = expr.ReplaceAllStringFunc(args, func(m string) string {
		name := expr.FindStringSubmatch(m)[1]
		v, ok := exprs[name]
		if !ok {
			t.Fatalf("release.yaml's dagger call release uses ${{ %s }}, which this test gives no value: add one", name)
		}
		return v
	})
	return strings.Fields(args)
}
