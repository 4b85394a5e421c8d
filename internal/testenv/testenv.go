// Package testenv decides what a test does when a tool it needs is missing:
// skip with a reason on a developer machine, fail in CI (CI=true), because a
// suite that silently skips its real checks proves nothing.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the suite runs under CI, where missing tools are errors.
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Unavailable stops the test: Fatal in CI, Skip elsewhere.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: "+format, args...)
	}
	t.Skipf("skipped outside CI: "+format, args...)
}

// RequireTool returns the path of tool or stops the test as Unavailable does.
func RequireTool(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Unavailable(t, "%s not on PATH (hack/deps.sh installs it)", tool)
	}
	return p
}

// RequireRoot stops the test as Unavailable does unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}
