package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/initrd"
)

// reproTree writes dist/x86_64/ with an initrd packed by internal/initrd (etc/motd
// holding motd) and a root_hash.txt.
func reproTree(t *testing.T, motd string) string {
	t.Helper()
	tr := initrd.NewTree()
	for _, err := range []error{
		tr.AddFile("etc/hostname", 0o644, []byte("guestforge\n")),
		tr.AddFile("etc/motd", 0o644, []byte(motd)),
		tr.AddFile("init", 0o755, []byte("#!/bin/sh\n")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var img bytes.Buffer
	if _, err := initrd.Pack(&img, tr, initrd.WriteOptions{Epoch: 1700000000}, initrd.Zstd); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "x86_64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"initrd-default.img": img.Bytes(),
		"root_hash.txt":      []byte("abcd  rootfs-default.img\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sha16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func TestReproCompareCLI(t *testing.T) {
	a := reproTree(t, "welcome\n")
	t.Run("identical", func(t *testing.T) {
		res := relRun(t, t.TempDir(), nil, "repro", "compare", "--no-diffoscope", a, reproTree(t, "welcome\n"))
		if res.code != 0 || !strings.HasPrefix(res.stdout, "PASS 2 artifacts identical") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		js := filepath.Join(t.TempDir(), "report.json")
		res := relRun(t, t.TempDir(), nil, "repro", "compare", "--no-diffoscope", "--json", js, a, reproTree(t, "welcome, built 2026-11-23\n"))
		first, _, _ := strings.Cut(res.stdout, "\n")
		want := "FAIL x86_64/initrd-default.img (cpio, zstd): member etc/motd differs: content sha256 " +
			sha16("welcome\n") + "… != " + sha16("welcome, built 2026-11-23\n") + "…"
		if res.code != 1 || first != want {
			t.Fatalf("exit %d, first line %q\n%s%s", res.code, first, res.stdout, res.stderr)
		}
		var rep struct {
			Identical bool   `json:"identical"`
			First     string `json:"first"`
		}
		data, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil || rep.Identical || rep.First != "x86_64/initrd-default.img" {
			t.Errorf("JSON report %s: %+v %v", data, rep, err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"repro", "compare", a},
			{"repro", "compare", a, filepath.Join(t.TempDir(), "missing")},
			{"repro", "compare", t.TempDir(), t.TempDir()},
		} {
			if res := relRun(t, t.TempDir(), nil, args...); res.code != 2 {
				t.Errorf("%v: exit %d, want 2\n%s", args, res.code, res.stderr)
			}
		}
	})
}

// The gate's verdict reaches a build's report through the CLI as `make repro` runs
// it: `release repro compare --json`, then `release report --repro`.
func TestReportShowsTheReproVerdict(t *testing.T) {
	a, b := reproTree(t, "welcome\n"), reproTree(t, "welcome, built 2026-11-23\n")
	// The build's own dist tree: tree a's bytes and an SBOM the gate never compared.
	dist := t.TempDir()
	if err := os.CopyFS(dist, os.DirFS(a)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "x86_64", "sbom-default.spdx.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	verdict := filepath.Join(t.TempDir(), "report.json")
	if res := relRun(t, t.TempDir(), nil, "repro", "compare", "--no-diffoscope", "--json", verdict, a, b); res.code != 1 {
		t.Fatalf("compare: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	res := relRun(t, t.TempDir(), nil, "report", "--dist", dist, "--manifest", "", "--repro", verdict)
	if res.code != 0 || !strings.Contains(res.stdout, ": 3 artifacts, 0 failed, 1 reproducible, 1 not, 0 earlier releases\n") {
		t.Fatalf("report: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dist, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	diff := "member etc/motd differs: content sha256 " + sha16("welcome\n") + "… != " + sha16("welcome, built 2026-11-23\n") + "…"
	for _, want := range []string{
		"\"path\": \"x86_64/initrd-default.img\",",
		"\"reproducible\": \"no\",\n      \"repro_diff\": \"" + diff + "\",",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report.json lacks %q:\n%s", want, data)
		}
	}
	var rep struct {
		Artifacts []struct {
			Path         string `json:"path"`
			Reproducible string `json:"reproducible"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, art := range rep.Artifacts {
		got[art.Path] = art.Reproducible
	}
	want := map[string]string{"x86_64/initrd-default.img": "no", "x86_64/root_hash.txt": "yes", "x86_64/sbom-default.spdx.json": "unknown"}
	if len(got) != len(want) {
		t.Errorf("artifacts = %v, want %v", got, want)
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: reproducible %q, want %q", p, got[p], w)
		}
	}
	page, err := os.ReadFile(filepath.Join(dist, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if cell := `<td title="first difference: ` + diff + `"><span class="tri no">no</span></td>`; !strings.Contains(string(page), cell) {
		t.Errorf("report.html lacks the initrd's Reproducible cell %s", cell)
	}
	if n := strings.Count(string(page), `<span class="tri yes">yes</span>`); n != 1 {
		t.Errorf("report.html has %d yes cells, want 1 (root_hash.txt; no cache verdicts without a record)", n)
	}
	// Something that is not a gate's verdict is refused, naming the file.
	res = relRun(t, t.TempDir(), nil, "report", "--dist", dist, "--manifest", "", "--repro", filepath.Join(dist, "report.json"),
		"--json", filepath.Join(t.TempDir(), "r.json"), "-o", filepath.Join(t.TempDir(), "r.html"))
	if res.code != 2 || !strings.Contains(res.stderr, `unknown field "schema"`) {
		t.Errorf("report --repro over a build report: exit %d\n%s", res.code, res.stderr)
	}
}

// A run starts without the verdict of the run before it, so a run that cannot
// compare leaves none for release report to join.
func TestPrepareReproOutDropsTheEarlierVerdict(t *testing.T) {
	out := t.TempDir()
	for _, f := range []string{reproMarker, reproText, "report.json"} {
		if err := os.WriteFile(filepath.Join(out, f), []byte("earlier\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := prepareReproOut(out, filepath.Join(out, "a"), filepath.Join(out, "b")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{reproText, "report.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); !os.IsNotExist(err) {
			t.Errorf("%s of the earlier run is still there: %v", f, err)
		}
	}
	// A directory no run marked keeps what it holds.
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "report.json"), []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareReproOut(foreign, filepath.Join(foreign, "a"), filepath.Join(foreign, "b")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(foreign, "report.json")); string(data) != "theirs\n" {
		t.Errorf("an unmarked directory's report.json was touched: %q", data)
	}
}

func TestPrepareReproOutNeverEmptiesForeignDirectories(t *testing.T) {
	out := t.TempDir()
	a, b := filepath.Join(out, "a"), filepath.Join(out, "b")
	if err := os.MkdirAll(filepath.Join(a, "x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := prepareReproOut(out, a, b); err == nil || !strings.Contains(err.Error(), "not a release repro output directory") {
		t.Fatalf("an unmarked directory with a/ was accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a, "x86_64")); err != nil {
		t.Fatalf("a/ was touched: %v", err)
	}
	// Once marked (as a run leaves it), a later run replaces the trees.
	if err := os.WriteFile(filepath.Join(out, reproMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareReproOut(out, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("a/ of the earlier run is still there: %v", err)
	}
}
