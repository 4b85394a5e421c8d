//go:build engine

package main

// Tier 2: `release build --all` when a job fails: exit 1, the error names the job and
// its log, the report says which job failed, and dist/<arch>/ is left as it was.
//
// Cost: the failing job (an image whose agent file is missing) fails before anything
// is built; the test kernel next to it is a cache hit when the x86_64 test matrix is
// warm (seconds), else it is cancelled by the failure. Under a minute either way,
// plus building the release binary.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/report"
)

// buildCheckout copies what `release build --all` reads from this checkout.
func buildCheckout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range []string{"toolchain.yaml", "kernel-configs", "images", "builders", "cmd/bootprobe", "internal/arch", "go.mod", "go.sum"} {
		dst := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", filepath.Join("../..", p), dst).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
	return root
}

// A lock entry whose sha256 no .deb has fails the whole build before any job starts,
// naming the package, its lock line and the command that refreshes the lock.
func TestBuildAllRefusesAWrongLockHashBeforeBuilding(t *testing.T) {
	root := buildCheckout(t)
	// The first amd64 package of the lock gets a sha256 no .deb has, the lock rewritten
	// as `release lock` writes it, so its line is where the parser found it.
	lockFile := filepath.Join(root, "images", "systemd.lock")
	l, err := pkglock.Load(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	sec, ok := l.Section("amd64")
	if !ok || len(sec.Packages) == 0 {
		t.Fatal("images/systemd.lock has no amd64 package to break")
	}
	e := &sec.Packages[0]
	e.SHA256 = strings.Repeat("f", 64)
	pkg, at := e.Name, e.Line
	if err := os.WriteFile(lockFile, pkglock.Format(l), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "dist")
	res := relRun(t, root, nil, "build", "--all", "--test", "--arch", "x86_64", "--out", out, "--manifest", filepath.Join(root, "toolchain.yaml"))
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", res.code, res.stdout, tail(res.stderr, 40))
	}
	for _, want := range []string{"job builders failed", fmt.Sprintf("images/systemd.lock:%d: package %s ", at, pkg),
		"the lock says " + strings.Repeat("f", 64), "release lock --update --image systemd"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, tail(res.stderr, 30))
		}
	}
	// Every other job is in the report as skipped, and its log says it never started.
	r, err := report.ReadJSON(filepath.Join(out, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Steps {
		want := report.StatusSkipped
		if s.ID == "builders" {
			want = report.StatusFailed
		}
		if s.Status != want {
			t.Errorf("step %s: %s, want %s", s.ID, s.Status, want)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(out, "logs", "*-x86_64-*.log"))
	if len(logs) == 0 {
		t.Error("no job logs: the skipped jobs should each say why")
	}
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "job started") || !strings.Contains(string(data), "job skipped") {
			t.Errorf("%s: a job ran after the lock failed:\n%s", filepath.Base(l), data)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "x86_64")); err == nil {
		t.Error("dist/x86_64 exists after a refused build")
	}
}

func TestBuildAllFailureLeavesDistAsItWas(t *testing.T) {
	root := buildCheckout(t)
	def := filepath.Join(root, "images", "default.yaml")
	data, err := os.ReadFile(def)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "bootprobe: true", "path: agent/kata-agent-not-built", 1)
	if broken == string(data) {
		t.Fatal("images/default.yaml no longer says bootprobe: true; update this test")
	}
	if err := os.WriteFile(def, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "dist")
	earlier := filepath.Join(out, "x86_64", "initrd-default.img")
	if err := os.MkdirAll(filepath.Dir(earlier), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(earlier, []byte("an earlier build"), 0o644); err != nil {
		t.Fatal(err)
	}

	res := relRun(t, root, nil, "build", "--all", "--test", "--arch", "x86_64", "--out", out, "--manifest", filepath.Join(root, "toolchain.yaml"))
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (a job failed)\n%s\n%s", res.code, res.stdout, tail(res.stderr, 40))
	}
	for _, want := range []string{"job rootfs/x86_64/default failed", "agent.path agent/kata-agent-not-built", "log: " + filepath.Join(out, "logs", "rootfs-x86_64-default.log")} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, tail(res.stderr, 30))
		}
	}
	got, err := os.ReadFile(earlier)
	if err != nil || string(got) != "an earlier build" {
		t.Errorf("the earlier dist/x86_64/initrd-default.img = %q, %v: a failed build must leave dist as it was", got, err)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "x86_64"))
	if len(entries) != 1 {
		t.Errorf("dist/x86_64 holds %d files after the failed build, want only the earlier one", len(entries))
	}
	log, err := os.ReadFile(filepath.Join(out, "logs", "rootfs-x86_64-default.log"))
	if err != nil || !strings.Contains(string(log), "job failed") {
		t.Errorf("job log: %v\n%s", err, log)
	}
	r, err := report.ReadJSON(filepath.Join(out, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, s := range r.Steps {
		status[s.ID] = s.Status
	}
	if status["rootfs/x86_64/default"] != report.StatusFailed || status["initrd/x86_64/default"] != report.StatusSkipped || status["image/x86_64/default"] != report.StatusSkipped {
		t.Errorf("step statuses %v: want the rootfs failed and its initrd and image skipped", status)
	}
	if r.Totals.Failed == 0 {
		t.Errorf("report totals %+v count no failure", r.Totals)
	}
}
