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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/report"
)

func TestBuildAllFailureLeavesDistAsItWas(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"toolchain.yaml", "kernel-configs", "images", "cmd/bootprobe", "internal/arch", "go.mod", "go.sum"} {
		dst := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", filepath.Join("../..", p), dst).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
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
