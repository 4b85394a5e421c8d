package hacktest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// repoRoot is where the scripts' paths (hack/deps.sh, hack/airgap/engine.sh) start.
const repoRoot = "../.."

type result struct {
	stdout, stderr string
	code           int
}

// runBash runs script with bash -c from the repository root, with env added to the
// test's environment, and returns what it printed and its exit status.
func runBash(t *testing.T, env []string, script string, args ...string) result {
	t.Helper()
	return run(t, env, "bash", append([]string{"-c", script, "bash"}, args...)...)
}

func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// engineDir points engine.sh at a fresh directory: no test may see or stop the engine
// provisioned at the default /var/cache/guestforge/engine.
func engineDir(t *testing.T) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	return dir, []string{"GUESTFORGE_ENGINE_DIR=" + dir}
}

// requireNetns stops the test unless it can make network namespaces and manage links and
// iptables inside them.
func requireNetns(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	for _, tool := range []string{"unshare", "ip", "iptables"} {
		testenv.RequireTool(t, tool)
	}
}

// enginePath is engine.sh as its own messages name it ($SELF).
func enginePath(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(repoRoot, "hack/airgap/engine.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
