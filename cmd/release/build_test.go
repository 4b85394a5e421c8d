package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A target set that is all removed is refused before any engine is needed, and
// nothing is written.
func TestBuildAllRefusesRemovedTargets(t *testing.T) {
	out := filepath.Join(t.TempDir(), "dist")
	manifest, err := filepath.Abs(pinnedYAML) // ppc64le/default: deprecated, removed on 2027-03-15
	if err != nil {
		t.Fatal(err)
	}
	res := relRun(t, t.TempDir(), []string{"_EXPERIMENTAL_DAGGER_RUNNER_HOST=unix:///nonexistent"},
		"build", "--all", "--arch", "ppc64le", "--as-of", "2027-03-15", "--out", out, "--manifest", manifest)
	if res.code != 1 || !strings.Contains(res.stderr, "ppc64le/default reached its removal date 2027-03-15") {
		t.Errorf("exit %d, want 1 naming the removal:\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote %s (%v)", out, err)
	}
	res = relRun(t, t.TempDir(), nil, "build", "--all", "--test", "--kernel-variant", "debug", "--out", out, "--manifest", manifest)
	if res.code != 2 || !strings.Contains(res.stderr, "--test builds the test variant") {
		t.Errorf("--test with --kernel-variant debug: exit %d\n%s", res.code, res.stderr)
	}
	// The old name still asks for the variant (scripts keep working) and says the new one.
	res = relRun(t, t.TempDir(), nil, "build", "--all", "--test", "--variant", "debug", "--out", out, "--manifest", manifest)
	if res.code != 2 || !strings.Contains(res.stderr, "--test builds the test variant") ||
		!strings.Contains(res.stderr, "Flag --variant has been deprecated, use --kernel-variant") {
		t.Errorf("--test with the deprecated --variant debug: exit %d\n%s", res.code, res.stderr)
	}
}
