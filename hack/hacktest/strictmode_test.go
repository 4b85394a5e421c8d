package hacktest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scripts are every set -euo pipefail script under hack/, as paths from the repo root.
func scripts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"hack/*.sh", "hack/airgap/*.sh"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, err := filepath.Rel(repoRoot, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rel)
		}
	}
	if len(out) < 6 {
		t.Fatalf("found only %v under hack/: the glob is broken", out)
	}
	return out
}

// errTrap is the safety net each script installs: an ERR trap naming the script, the
// line and the command.
var errTrap = regexp.MustCompile(`^trap '.*\$LINENO.*\$BASH_COMMAND.*' ERR$`)

// header returns a script's strict-mode lines and its ERR trap, or says which are missing.
func header(t *testing.T, script string) (lines []string, missing []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, script))
	if err != nil {
		t.Fatal(err)
	}
	var strict, errtrace, trap string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case l == "set -euo pipefail" && strict == "":
			strict = l
		case l == "set -o errtrace" && errtrace == "":
			errtrace = l
		case errTrap.MatchString(l) && trap == "":
			trap = l
		}
	}
	if strict == "" {
		missing = append(missing, "set -euo pipefail")
	}
	if errtrace == "" {
		missing = append(missing, "set -o errtrace (without it the ERR trap does not fire inside functions)")
	}
	if trap == "" {
		missing = append(missing, "trap '... $LINENO ... $BASH_COMMAND ...' ERR")
	} else if !strings.Contains(trap, `"`+script+`"`) {
		missing = append(missing, fmt.Sprintf("an ERR trap that names %s (it has %s)", script, trap))
	}
	return []string{strict, errtrace, trap}, missing
}

func TestScriptsHaveStrictModeAndErrTrap(t *testing.T) {
	for _, s := range scripts(t) {
		if _, missing := header(t, s); len(missing) > 0 {
			t.Errorf("%s lacks, as lines of their own: %s", s, strings.Join(missing, "; "))
		}
	}
}

// Each script's own header lines, run before a failing function, must report the failure
// with script, line and command, and stay quiet on failures the code handles.
func TestErrTrapReportsUnhandledFailuresOnly(t *testing.T) {
	for _, s := range scripts(t) {
		t.Run(filepath.Base(s), func(t *testing.T) {
			lines, missing := header(t, s)
			if len(missing) > 0 {
				t.Fatalf("%s lacks %s", s, strings.Join(missing, "; "))
			}
			// Line numbers below count from the first header line.
			body := strings.Join(lines, "\n") + `
handled() { if grep -q nothing /dev/null; then :; fi; false || true; ! false; test -e /nonexistent && echo no; return 0; }
handled
echo handled-ok
broken() { grep -q nothing /dev/null; echo not-reached; }
broken
echo not-reached-either
`
			res := runBash(t, nil, body)
			wantErr := fmt.Sprintf("%s: line 7: `grep -q nothing /dev/null` failed (exit 1); the lines above say why, or rerun with bash -x\n", s)
			if res.code != 1 || res.stdout != "handled-ok\n" || res.stderr != wantErr {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, stdout %q, stderr %q", res.code, res.stdout, res.stderr, "handled-ok\n", wantErr)
			}
		})
	}
}
