// Package changestest builds real git repositories for tests: commits and
// annotated tags with fixed dates, so what `release plan` and `release cut`
// read from git is the same on every run.
package changestest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// Repo is a git repository in a temporary directory.
type Repo struct {
	Dir string
	t   testing.TB
}

// New makes an empty repository on branch main.
func New(t testing.TB) *Repo {
	t.Helper()
	testenv.RequireTool(t, "git")
	r := &Repo{Dir: t.TempDir(), t: t}
	r.Git("2026-01-01", "init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository with author and committer dated date
// (YYYY-MM-DD, noon UTC) and returns its trimmed stdout.
func (r *Repo) Git(date string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	stamp := date + "T12:00:00Z"
	// Isolate from the host's git configuration so the user's signing or
	// hook settings cannot change what the test sees.
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Release Tester", "GIT_AUTHOR_EMAIL=tester@example.invalid",
		"GIT_COMMITTER_NAME=Release Tester", "GIT_COMMITTER_EMAIL=tester@example.invalid",
		"GIT_AUTHOR_DATE="+stamp, "GIT_COMMITTER_DATE="+stamp, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write creates or replaces files (path relative to the repository -> content).
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit writes files and commits them (all changes in the tree) with
// message, dated date; it returns the commit hash.
func (r *Repo) Commit(date, message string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git(date, "add", "-A")
	r.Git(date, "commit", "-q", "--allow-empty", "-m", message)
	return r.Git(date, "rev-parse", "HEAD")
}

// Tag makes an annotated tag at HEAD dated date, as `release cut` does.
func (r *Repo) Tag(date, name string) {
	r.t.Helper()
	r.Git(date, "tag", "-a", "-m", "guestforge "+name, name)
}

// MergePR commits files on a branch and merges it into main with a merge
// commit written the way GitHub writes it for pull request number pr.
func (r *Repo) MergePR(date string, pr int, branch, title string, files map[string]string) string {
	r.t.Helper()
	r.Git(date, "checkout", "-q", "-b", branch)
	r.Commit(date, "wip: "+title, files)
	r.Git(date, "checkout", "-q", "main")
	msg := "Merge pull request #" + strconv.Itoa(pr) + " from contributor/" + branch + "\n\n" + title
	r.Git(date, "merge", "-q", "--no-ff", "-m", msg, branch)
	return r.Git(date, "rev-parse", "HEAD")
}

// History makes the repository most release tests start from: toolchain.yaml
// (the given bytes), monthly minors v1.0.0 (2026-02-15) and v1.1.0
// (2026-03-15) on the release day 15, and three commits after v1.1.0, the
// last on 2026-04-02. HEAD is not released.
func History(t testing.TB, toolchain []byte) *Repo {
	t.Helper()
	r := New(t)
	r.Commit("2026-02-10", "feat: first guest kernel", map[string]string{
		"toolchain.yaml":               string(toolchain),
		"kernel-configs/common/a.conf": "CONFIG_VIRTIO=y\n",
	})
	r.Tag("2026-02-15", "v1.0.0")
	r.Commit("2026-03-01", "fix(kernel): keep vsock (#11)", map[string]string{"kernel-configs/common/a.conf": "CONFIG_VIRTIO=y\nCONFIG_VSOCKETS=y\n"})
	r.Tag("2026-03-15", "v1.1.0")
	r.Commit("2026-03-20", "feat(images): systemd guest image (#12)", map[string]string{"images/systemd.yaml": systemdImage})
	r.Commit("2026-03-28", "fix!: drop the 9p default (#14)", map[string]string{"internal/build/rootfs.go": "package build\n"})
	r.Commit("2026-04-02", "docs: release runbook (#13)", map[string]string{"docs/runbook.md": "# runbook\n"})
	return r
}

// systemdImage is a valid image definition, so the SBOM stage can read the
// agent facts of the systemd image the History repository adds.
const systemdImage = `name: systemd
distro: {name: debian, suite: bookworm}
variant: minbase
init: systemd
agent: {bootprobe: true}
packages: [systemd, systemd-sysv, ca-certificates]
`
