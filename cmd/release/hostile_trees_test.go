package main

// Hostile input through the real binary, one table per CLI surface: trees with
// links out of them, outputs aimed at inputs or through symlinks, agents the
// guest cannot run, archives whose names attack the terminal. Each case asserts
// the exit code and the first line of stderr (or the report), and that no input
// changed. The corpus is described in testdata/hostile/README.md.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostileCase is one run and what it must say.
type hostileCase struct {
	name string
	args []string
	code int
	// first is the exact first line of stderr (or of stdout, with onStdout).
	first    string
	onStdout bool
}

func runHostile(t *testing.T, cases []hostileCase, untouched ...string) {
	t.Helper()
	before := map[string]string{}
	for _, p := range untouched {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = string(data)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := relRun(t, t.TempDir(), nil, c.args...)
			out := res.stderr
			if c.onStdout {
				out = res.stdout
			}
			first, _, _ := strings.Cut(out, "\n")
			if res.code != c.code || first != c.first {
				t.Fatalf("release %q: exit %d, first line\n%q\nwant exit %d,\n%q\nstdout:\n%s\nstderr:\n%s", c.args, res.code, first, c.code, c.first, res.stdout, res.stderr)
			}
		})
	}
	for p, want := range before {
		if data, err := os.ReadFile(p); err != nil || string(data) != want {
			t.Errorf("input %s changed: %v, now %q", p, err, data)
		}
	}
}

func writeFile(t *testing.T, p, content string, perm os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostileReproCompare(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	// The case, with the real files: the report may be published.
	if err := os.Symlink("/etc/shadow", filepath.Join(a, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(b, "link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(a, "root_hash.txt"), "abcd\n", 0o644)
	writeFile(t, filepath.Join(b, "root_hash.txt"), "abcd\n", 0o644)
	elsewhere := writeFile(t, filepath.Join(t.TempDir(), "precious"), "keep me\n", 0o644)
	jsonLink := filepath.Join(t.TempDir(), "report.json")
	if err := os.Symlink(elsewhere, jsonLink); err != nil {
		t.Fatal(err)
	}

	js := filepath.Join(t.TempDir(), "report.json")
	res := relRun(t, t.TempDir(), nil, "repro", "compare", "--json", js, a, b)
	first, _, _ := strings.Cut(res.stdout, "\n")
	if want := `FAIL link (symlink): symlink target "/etc/shadow" != "/etc/passwd"`; res.code != 1 || first != want {
		t.Fatalf("exit %d, first line %q; want exit 1, %q\n%s%s", res.code, first, want, res.stdout, res.stderr)
	}
	report, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr, "JSON report": string(report)} {
		if strings.Contains(text, "root:") {
			t.Errorf("%s holds a line of /etc/shadow or /etc/passwd:\n%s", name, text)
		}
	}

	runHostile(t, []hostileCase{
		{"json inside a compared tree", []string{"repro", "compare", "--no-diffoscope", "--json", filepath.Join(a, "report.json"), a, b}, 2,
			"release: output " + filepath.Join(a, "report.json") + " is inside the input " + a + ": writing it would change the input; choose an output outside it", false},
		{"json over a compared file", []string{"repro", "compare", "--no-diffoscope", "--json", filepath.Join(b, "root_hash.txt"), a, b}, 2,
			"release: output " + filepath.Join(b, "root_hash.txt") + " is inside the input " + b + ": writing it would change the input; choose an output outside it", false},
		{"json through a symlink", []string{"repro", "compare", "--no-diffoscope", "--json", jsonLink, a, b}, 2,
			"release: output " + jsonLink + " is a symlink to " + elsewhere + ": refusing to write through it or replace it; remove the link or choose another path", false},
		{"json to stdout", []string{"repro", "compare", "--no-diffoscope", "--json", "-", a, b}, 2,
			`release: output "-" (standard output) is not supported here: give a file path`, false},
		{"diffoscope dir inside a tree", []string{"repro", "compare", "--diffoscope-dir", filepath.Join(b, "d"), a, b}, 2,
			"release: output " + filepath.Join(b, "d") + " is inside the input " + b + ": writing it would change the input; choose an output outside it", false},
	}, elsewhere, filepath.Join(b, "root_hash.txt"))
	if _, err := os.Lstat(filepath.Join(a, "report.json")); err == nil {
		t.Errorf("a report was written into the compared tree %s", a)
	}
}

func TestHostileInitrd(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	writeFile(t, filepath.Join(root, "etc", "hostname"), "guest\n", 0o644)
	agent := writeFile(t, filepath.Join(dir, "agent"), "stand-in agent binary", 0o755)
	empty := writeFile(t, filepath.Join(dir, "empty-agent"), "", 0o755)
	script := writeFile(t, filepath.Join(dir, "script-agent"), "#!/bin/bash -e\nexec agent\n", 0o755)
	fifo := filepath.Join(dir, "fifo-agent")
	if err := syscall.Mkfifo(fifo, 0o755); err != nil {
		t.Fatal(err)
	}
	tarFile := writeFile(t, filepath.Join(dir, "tree.tar"), strings.Repeat("\x00", 1024), 0o644)
	precious := writeFile(t, filepath.Join(dir, "precious"), "keep me\n", 0o644)
	link := filepath.Join(dir, "initrd-link.img")
	if err := os.Symlink(precious, link); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "initrd.img")
	pack := func(extra ...string) []string {
		return append([]string{"initrd", "--root", root, "--init", "agent", "--arch", "x86_64", "--epoch", "0"}, extra...)
	}
	// Absolute: the binary runs in a temporary directory.
	corpus, err := filepath.Abs(filepath.Join("..", "..", "testdata", "hostile", "initrd-ls-escape-names.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	runHostile(t, []hostileCase{
		{"output over the agent", pack("--agent", agent, "-o", agent), 2,
			"release: output " + agent + " is the input " + agent + ": writing it would destroy the input; choose another output path", false},
		{"output inside the root", pack("--agent", agent, "-o", filepath.Join(root, "initrd.img")), 2,
			"release: output " + filepath.Join(root, "initrd.img") + " is inside the input " + root + ": writing it would change the input; choose an output outside it", false},
		{"output through a symlink", pack("--agent", agent, "-o", link), 2,
			"release: output " + link + " is a symlink to " + precious + ": refusing to write through it or replace it; remove the link or choose another path", false},
		{"output to stdout", pack("--agent", agent, "-o", "-"), 2,
			`release: output "-" (standard output) is not supported here: give a file path`, false},
		{"output over the tar", []string{"initrd", "--tar", tarFile, "--init", "none", "--arch", "x86_64", "-o", tarFile}, 2,
			"release: output " + tarFile + " is the input " + tarFile + ": writing it would destroy the input; choose another output path", false},
		{"empty agent", pack("--agent", empty, "-o", img), 2,
			"release: agent " + empty + " is empty: pass the built agent binary", false},
		{"script agent without its interpreter", pack("--agent", script, "-o", img), 2,
			"release: agent " + script + " is a script for /bin/bash, which is not in the tree being packed: add /bin/bash to the tree or pass the built agent binary", false},
		{"FIFO agent", pack("--agent", fifo, "-o", img), 2,
			"release: agent " + fifo + " is a FIFO, not a regular file: pass the built agent binary", false},
		{"directory agent", pack("--agent", root, "-o", img), 2,
			"release: agent " + root + " is a directory, not a regular file: pass the built agent binary", false},
		{"ls escapes hostile names", []string{"initrd", "ls", corpus}, 0,
			`-rw-r--r-- 0/0          1 2026-01-01T00:00:00Z evil\x1b[2J\x0aname`, true},
	}, agent, tarFile, precious)
	if _, err := os.Lstat(img); err == nil {
		t.Errorf("a refused agent still produced %s", img)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Errorf("the root holds %d entries after the runs; want only etc/", len(ents))
	}

	res := relRun(t, t.TempDir(), nil, "initrd", "ls", corpus)
	want := "-rw-r--r-- 0/0          1 2026-01-01T00:00:00Z evil\\x1b[2J\\x0aname\n" +
		"lrwxrwxrwx 0/0         10 2026-01-01T00:00:00Z link -> \\x1b]0;pwned\\x07\n"
	if res.code != 0 || res.stdout != want || strings.ContainsAny(res.stdout+res.stderr, "\x1b\a") {
		t.Fatalf("ls: exit %d\n%q\nwant\n%q", res.code, res.stdout, want)
	}
}

// TestHostileOutputs: every other command with an output flag refuses one that
// would land on what it reads.
func TestHostileOutputs(t *testing.T) {
	dir := t.TempDir()
	repoManifest, err := os.ReadFile(pinnedYAML)
	if err != nil {
		t.Fatal(err)
	}
	manifestPath := writeFile(t, filepath.Join(dir, "toolchain.yaml"), string(repoManifest), 0o644)
	configs := filepath.Join(dir, "kernel-configs")
	if err := os.CopyFS(configs, os.DirFS(filepath.Join("..", "..", "kernel-configs"))); err != nil {
		t.Fatal(err)
	}
	raw := writeFile(t, filepath.Join(dir, "bench.raw"), "initrd_seconds=1\n", 0o644)
	fragment := filepath.Join(configs, "common", "merged.config")
	runHostile(t, []hostileCase{
		{"kconfig merge into the fragment tree", []string{"kconfig", "merge", "--configs", configs, "--arch", "x86_64", "-o", fragment}, 2,
			"release: output " + fragment + " is inside the input " + configs + ": writing it would change the input; choose an output outside it", false},
		{"support-matrix over the manifest", []string{"support-matrix", "--manifest", manifestPath, "-o", manifestPath}, 2,
			"release: output " + manifestPath + " is the input " + manifestPath + ": writing it would destroy the input; choose another output path", false},
		{"report json over the manifest", []string{"report", "--dist", t.TempDir(), "--manifest", manifestPath, "--json", manifestPath}, 2,
			"release: output " + manifestPath + " is the input " + manifestPath + ": writing it would destroy the input; choose another output path", false},
		{"report json over the repro verdict", []string{"report", "--dist", t.TempDir(), "--manifest", manifestPath, "--repro", raw, "--json", raw}, 2,
			"release: output " + raw + " is the input " + raw + ": writing it would destroy the input; choose another output path", false},
		{"report page over its json", []string{"report", "--dist", t.TempDir(), "--manifest", manifestPath, "--json", filepath.Join(dir, "r.json"), "-o", filepath.Join(dir, "r.json")}, 2,
			"release: output " + filepath.Join(dir, "r.json") + " is the input " + filepath.Join(dir, "r.json") + ": writing it would destroy the input; choose another output path", false},
		{"bench json over the raw measurements", []string{"bench", "--raw", raw, "--json", raw}, 2,
			"release: output " + raw + " is the input " + raw + ": writing it would destroy the input; choose another output path", false},
		// Both refuse before any engine is looked for.
		{"build out holding the manifest", []string{"build", "--manifest", manifestPath, "--out", dir}, 2,
			"release: output " + dir + " holds the input " + manifestPath + ": writing it could replace the input; choose an output that does not contain it", false},
		{"repro out in the fragment tree", []string{"repro", "--manifest", manifestPath, "--out", filepath.Join(configs, "repro")}, 2,
			"release: output " + filepath.Join(configs, "repro") + " is inside the input " + configs + ": writing it would change the input; choose an output outside it", false},
	}, manifestPath, raw)
	if _, err := os.Lstat(fragment); err == nil {
		t.Errorf("kconfig merge wrote into the fragment tree")
	}
}
