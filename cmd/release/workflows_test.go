package main

// The GitHub workflows are code too: actionlint (with shellcheck for the
// run: scripts) must accept them, their release CLI invocations must parse,
// the release schedule must be toolchain.yaml's release day, and the Dagger
// version they install must be the one go.mod pins.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/testenv"
)

const workflowsDir = "../../.github/workflows"

var workflowFiles = []string{"ci.yaml", "release.yaml", "freshness.yaml"}

func TestWorkflowsPassActionlint(t *testing.T) {
	actionlint := testenv.RequireTool(t, "actionlint")
	shellcheck := testenv.RequireTool(t, "shellcheck")
	args := []string{"-no-color", "-oneline", "-shellcheck", shellcheck}
	for _, f := range workflowFiles {
		args = append(args, filepath.Join(".github/workflows", f))
	}
	cmd := exec.Command(actionlint, args...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// actionlint is quiet when clean; make sure it looked at the files.
	cmd = exec.Command(actionlint, "-no-color", "-oneline", "-shellcheck", shellcheck, "-")
	cmd.Stdin = strings.NewReader("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $UNQUOTED\n")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "SC2086") {
		t.Errorf("actionlint did not report an unquoted variable through shellcheck (%v): %s", err, out)
	}
}

type workflow struct {
	On   map[string]any `yaml:"on"`
	Env  map[string]string
	Jobs map[string]struct {
		Env   map[string]string
		Steps []struct {
			Uses string
			Run  string
			With map[string]string
		}
	}
}

func loadWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

func TestReleaseScheduleIsTheReleaseDay(t *testing.T) {
	tc, err := manifest.Load("../../toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := loadWorkflow(t, "release.yaml")
	sched, _ := w.On["schedule"].([]any)
	if len(sched) != 1 {
		t.Fatalf("release.yaml: want one schedule, got %v", w.On["schedule"])
	}
	cron, _ := sched[0].(map[string]any)["cron"].(string)
	f := strings.Fields(cron)
	if len(f) != 5 || f[3] != "*" || f[4] != "*" {
		t.Fatalf("release.yaml cron %q: want minute hour DAY * *", cron)
	}
	if d, err := strconv.Atoi(f[2]); err != nil || d != tc.Release.Day {
		t.Errorf("release.yaml runs on day %q, toolchain.yaml release.day is %d: change both together", f[2], tc.Release.Day)
	}
	if _, ok := w.On["workflow_dispatch"]; !ok {
		t.Error("release.yaml has no workflow_dispatch: patches and majors are cut by hand")
	}
}

func TestWorkflowsPinDaggerAsGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, r := range mf.Require {
		if r.Mod.Path == "dagger.io/dagger" {
			want = strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	if want == "" {
		t.Fatal("go.mod does not require dagger.io/dagger")
	}
	// The commit-and-comment form is TestWorkflowActionsPinnedBySHA's to check.
	pinned := regexp.MustCompile(`^dagger/dagger-for-github@[0-9a-f]{40}$`)
	for _, name := range []string{"ci.yaml", "release.yaml"} {
		w := loadWorkflow(t, name)
		if w.Env["DAGGER_VERSION"] != want {
			t.Errorf("%s: DAGGER_VERSION %q, go.mod pins dagger.io/dagger %s", name, w.Env["DAGGER_VERSION"], want)
		}
		uses := 0
		for _, j := range w.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "dagger/dagger-for-github") {
					continue
				}
				uses++
				if !pinned.MatchString(s.Uses) {
					t.Errorf("%s: %s is not pinned to a commit SHA", name, s.Uses)
				}
				if s.With["version"] != "${{ env.DAGGER_VERSION }}" {
					t.Errorf("%s: %s installs Dagger %q, not env.DAGGER_VERSION", name, s.Uses, s.With["version"])
				}
			}
		}
		if uses == 0 {
			t.Errorf("%s does not use dagger/dagger-for-github", name)
		}
	}
}

// The release CLI lines of the workflows' scripts parse against the CLI.
func TestWorkflowReleaseCommandsParse(t *testing.T) {
	vars := regexp.MustCompile(`"\$[A-Za-z_][A-Za-z_0-9]*"|"\$\{?[A-Za-z_][A-Za-z_0-9]*\}?"`)
	checked := 0
	for _, name := range workflowFiles {
		w := loadWorkflow(t, name)
		for job, j := range w.Jobs {
			for _, s := range j.Steps {
				for _, line := range strings.Split(s.Run, "\n") {
					_, rest, ok := strings.Cut(line, "go run ./cmd/release ")
					if !ok {
						continue
					}
					// Up to the first pipe or redirection; quoted variables become a value.
					rest, _, _ = strings.Cut(rest, "|")
					rest, _, _ = strings.Cut(rest, ">")
					rest = vars.ReplaceAllString(rest, "v1.2.3")
					var args []string
					for _, w := range strings.Fields(rest) {
						if strings.HasPrefix(w, "$") {
							continue // unquoted word lists ($flags) are checked by the plan job at run time
						}
						args = append(args, w)
					}
					res := relRun(t, "../..", nil, append(args, "--help")...)
					if res.code != 0 {
						t.Errorf("%s job %s: `release %s` does not parse: %s", name, job, strings.Join(args, " "), res.stderr)
					}
					checked++
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d release commands in the workflows; the extraction is broken", checked)
	}
}
