package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/report"
)

// testRun is what a matrix run of the x86_64 test matrix reports, with the
// kernel failed when failKernel.
func testRun(failKernel bool) []JobResult {
	kernel := JobResult{ID: "kernel/x86_64/test", Kind: JobKernel, Arch: "x86_64", Variant: "test", Status: JobOK,
		Duration: 95 * time.Second, Files: []string{"x86_64/config-6.12.117-0123456789ab", "x86_64/vmlinuz-6.12.117-0123456789ab"}}
	if failKernel {
		kernel.Status, kernel.Files, kernel.Err = JobFailed, nil, errors.New("make: *** [vmlinux] Error 2")
	}
	return []JobResult{
		{ID: "builders", Kind: JobBuilders, Status: JobOK, Duration: 2 * time.Second},
		{ID: "image/x86_64/default", Kind: JobImage, Arch: "x86_64", Image: "default", Status: JobOK, Duration: 4 * time.Second,
			Files: []string{"x86_64/rootfs-default.img", "x86_64/rootfs-default.img.verity", "x86_64/verity-default.cmdline"}},
		{ID: "initrd/x86_64/default", Kind: JobInitrd, Arch: "x86_64", Image: "default", Status: JobOK, Duration: 3 * time.Second,
			Files: []string{"x86_64/initrd-default.img"}},
		kernel,
		{ID: "rootfs/x86_64/default", Kind: JobRootfs, Arch: "x86_64", Image: "default", Status: JobOK, Duration: 7 * time.Second},
	}
}

func TestRecordSteps(t *testing.T) {
	logs := map[string]bool{"kernel/x86_64/test": true}
	steps := RecordSteps(testRun(true), "v2026.12.0", logs)
	if len(steps) != 5 {
		t.Fatalf("%d steps, want 5", len(steps))
	}
	byID := map[string]report.RecordStep{}
	for _, s := range steps {
		byID[s.ID] = s
	}
	k := byID["kernel/x86_64/test"]
	if k.Status != report.StatusFailed || k.Error != "make: *** [vmlinux] Error 2" || k.Log != "logs/kernel-x86_64-test.log" || k.DurationMS != 95000 {
		t.Errorf("kernel step = %+v", k)
	}
	if k.CacheHit != nil {
		t.Errorf("kernel cache hit = %v: the engine does not say, it must stay unknown", *k.CacheHit)
	}
	in := byID["initrd/x86_64/default"]
	if in.CacheHit == nil || *in.CacheHit || in.Outputs[0] != "v2026.12.0/x86_64/initrd-default.img" || in.Log != "" {
		t.Errorf("initrd step = %+v, want cache_hit false (packed here every time), output under the version, no log", in)
	}
}

func TestWithLogsNamesTheFailedJobsLog(t *testing.T) {
	err := errors.Join(&JobError{ID: "kernel/x86_64/test", Err: errors.New("boom")})
	got := withLogs(err, "dist", map[string]bool{"kernel/x86_64/test": true}).Error()
	for _, want := range []string{"job kernel/x86_64/test failed: boom", "log: dist/logs/kernel-x86_64-test.log", "dist/logs/engine.log"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
}

// writeDist puts the files of testRun into dist/ as an export would.
func writeDist(t *testing.T, dist string, failKernel bool) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, j := range testRun(failKernel) {
		for _, f := range j.Files {
			files[f] = "content of " + f
		}
	}
	files["x86_64/"+artifact.RootHashName] = "default 00\n"
	tree(t, dist, files)
	tree(t, dist, map[string]string{"logs/kernel-x86_64-test.log": "level=INFO msg=\"job started\"\n"})
	return files
}

func TestWriteReportOfABuild(t *testing.T) {
	dist := t.TempDir()
	files := writeDist(t, dist, false)
	p := &Pipeline{Log: slog.New(slog.DiscardHandler)}
	repo := &Repo{Toolchain: loadToolchain(t)}
	rec := report.NewRecorder("", "0123456789abcdef0123456789abcdef01234567")
	for _, s := range RecordSteps(testRun(false), "", map[string]bool{"kernel/x86_64/test": true}) {
		rec.Add(s)
	}
	res := &DistResult{}
	finished := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	if err := p.writeReport(rec, repo, DistSpec{Out: dist}, finished, res); err != nil {
		t.Fatal(err)
	}
	r, err := report.ReadJSON(res.JSONFile)
	if err != nil {
		t.Fatal(err)
	}
	if r.Created != "2026-11-23T03:00:00Z" || r.Commit == "" {
		t.Errorf("created %q commit %q", r.Created, r.Commit)
	}
	byPath := map[string]report.Artifact{}
	for _, a := range r.Artifacts {
		byPath[a.Path] = a
	}
	for rel, content := range files {
		a, ok := byPath[rel]
		if !ok {
			t.Errorf("%s not in the report", rel)
			continue
		}
		sum := sha256.Sum256([]byte(content))
		if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(content)) || a.Status != report.StatusOK {
			t.Errorf("%s: sha256 %s size %d status %s", rel, a.SHA256, a.Size, a.Status)
		}
	}
	k := byPath["x86_64/vmlinuz-6.12.117-0123456789ab"]
	// The test kernel stands in for every x86_64 target: their maintainers, the best status.
	if k.Kind != "vmlinuz" || k.DurationMS != 95000 || k.CacheHit != report.Unknown || k.Log != "logs/kernel-x86_64-test.log" ||
		k.Support != "supported" || strings.Join(k.Maintainers, ",") != "@guestforge/coco,@guestforge/x86-maintainers" {
		t.Errorf("kernel artifact = %+v", k)
	}
	if in := byPath["x86_64/initrd-default.img"]; in.CacheHit != report.No || in.Step != "initrd/x86_64/default" {
		t.Errorf("initrd artifact = %+v", in)
	}
	if _, err := os.Stat(res.HTMLFile); err != nil {
		t.Error(err)
	}
	if _, ok := byPath["logs/kernel-x86_64-test.log"]; ok {
		t.Error("a log file is listed as an artifact")
	}
}

func TestWriteReportOfAFailedBuild(t *testing.T) {
	dist := t.TempDir()
	writeDist(t, dist, true)
	p := &Pipeline{Log: slog.New(slog.DiscardHandler)}
	repo := &Repo{Toolchain: loadToolchain(t)}
	rec := report.NewRecorder("", "")
	for _, s := range RecordSteps(testRun(true), "", map[string]bool{"kernel/x86_64/test": true}) {
		rec.Add(s)
	}
	res := &DistResult{}
	if err := p.writeReport(rec, repo, DistSpec{Out: dist}, time.Unix(0, 0), res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dist, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.ReadJSON(filepath.Join(dist, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Failed != 1 {
		t.Errorf("totals.failed = %d, want 1 (the kernel)\n%s", r.Totals.Failed, data)
	}
	var found bool
	for _, a := range r.Artifacts {
		if a.Step == "kernel/x86_64/test" {
			found = true
			if a.Status != report.StatusFailed || !strings.Contains(a.Error, "Error 2") || a.Log == "" {
				t.Errorf("failed kernel row = %+v", a)
			}
		}
	}
	if !found {
		t.Errorf("no row for the failed kernel job\n%s", data)
	}
}
