package policy

import (
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/manifest"
)

func TestBumpPlanAndWrite(t *testing.T) {
	p := pins{lag: 2, goV: "1.26.8", rustV: "1.95.0", kernel: "6.12.117",
		exceptions: rustException + "\n" + `    - {name: kernel, allow: "6.12.100", until: "2027-01-31", reason: "debian lag"}`}
	m := p.manifest(t)
	f := moduleFeeds(t, map[string]string{"example.com/dep": "v1.0.0\nv1.1.0\nv1.1.1\n"})
	deps := []Dependency{{Path: "example.com/dep", Version: "v1.0.0", File: "go.mod", Line: 5}}
	plan, err := Bump(m, deps, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `toolchain.yaml:8: go 1.26.8 -> 1.27.3 (bump --write edits this)
toolchain.yaml:9: rust 1.95.0 -> 1.100.0 (bump --write edits this)
toolchain.yaml:10: kernel 6.12.117 -> 6.12.119 (by hand: edit kernel.version, kernel.url and kernel.sha256 together once the source archive of 6.12.119 is available (its sha256 is known only after download))
go.mod:5: example.com/dep v1.0.0 -> v1.1.1 (by hand: go get example.com/dep@v1.1.1)
toolchain.yaml:5: drop exception rust (allow 1.95.0 until 2027-01-31): rust is within policy without it after this bump
toolchain.yaml:6: drop exception kernel (allow 6.12.100 until 2027-01-31): kernel is within policy without it after this bump
note: a newer longterm kernel series exists: 6.18 (6.18.58); moving series is a deliberate change (config fragments, allowlist/6.18.conf), not a bump
`
	if text.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", text.String(), want)
	}

	out, err := plan.Rewrite().Apply(m.Path, m.Source)
	if err != nil {
		t.Fatal(err)
	}
	bumped, err := manifest.Parse(m.Path, out)
	if err != nil {
		t.Fatalf("bumped manifest does not parse:\n%v\n%s", err, out)
	}
	if bumped.Toolchains["go"].Version != "1.27.3" || bumped.Toolchains["rust"].Version != "1.100.0" || len(bumped.Policy.Exceptions) != 0 || bumped.Kernel.Version != "6.12.117" {
		t.Errorf("bumped manifest:\n%s", out)
	}
	rep, err := Check(bumped, nil, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(StatusViolation)+rep.Count(StatusExcepted) != 0 || rowNamed(t, rep, "rust").Status != StatusOK || rowNamed(t, rep, "go").Status != StatusOK {
		t.Errorf("after bump: %+v", rep.Rows)
	}
	again, err := Bump(bumped, nil, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	if rw := again.Rewrite(); len(rw.Edits) != 0 || len(rw.DropExceptions) != 0 || len(again.Changes) != 1 || again.Changes[0].Name != "kernel" {
		t.Errorf("second bump is not a no-op for --write: %+v", again)
	}
}

func TestBumpKeepsExceptionsStillNeeded(t *testing.T) {
	p := defaults()
	p.kernel = "6.1.193"
	p.exceptions = `    - {name: kernel, allow: "6.1.190", until: "2027-01-31", reason: "vendor driver"}` + "\n" +
		`    - {name: example.com/dep, allow: "v1.0.0", until: "2027-01-31", reason: "api break"}` + "\n" +
		`    - {name: example.com/gone, allow: "v1.0.0", until: "2027-01-31", reason: "old"}`
	f := moduleFeeds(t, map[string]string{"example.com/dep": "v1.0.0\nv1.1.0\nv1.2.0\nv1.3.0\n"})
	deps := []Dependency{{Path: "example.com/dep", Version: "v1.0.0", File: "go.mod", Line: 5}}
	plan, err := Bump(p.manifest(t), deps, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range plan.Exceptions {
		got[e.Name] = e.Drop
	}
	if got["kernel"] || got["example.com/dep"] || !got["example.com/gone"] {
		t.Errorf("drop decisions %v: want kernel and example.com/dep kept, example.com/gone dropped", got)
	}
	// 6.1.193 is its series' newest patch: nothing to bump; the series
	// change is left to a person, pointed at by the note.
	if len(plan.Changes) != 2 || plan.Changes[0].Name != "go" || plan.Changes[1].Action != "go get example.com/dep@v1.3.0" {
		t.Errorf("changes %+v", plan.Changes)
	}
	if len(plan.Notes) != 1 || !strings.Contains(plan.Notes[0], "6.18 (6.18.58)") {
		t.Errorf("notes %q", plan.Notes)
	}
}

// Without go.mod, an exception for a module cannot be judged: bump keeps it
// rather than deleting it from the manifest.
func TestBumpWithoutGoModKeepsModuleExceptions(t *testing.T) {
	p := defaults()
	p.exceptions = `    - {name: example.com/dep, allow: "v1.0.0", until: "2027-01-31", reason: "api break"}`
	plan, err := Bump(p.manifest(t), nil, snapshot(t), day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Exceptions) != 1 || plan.Exceptions[0].Drop {
		t.Fatalf("exceptions %+v: want example.com/dep kept", plan.Exceptions)
	}
	if want := "kept: go.mod was not read (--gomod none, or no go.mod beside the manifest), so nothing shows whether it is still needed"; plan.Exceptions[0].Why != want {
		t.Errorf("why %q\nwant %q", plan.Exceptions[0].Why, want)
	}
	if len(plan.Rewrite().DropExceptions) != 0 {
		t.Error("--write would drop it")
	}
	// A go.mod that was read and has no requirement still drops it.
	deps, err := ParseDirectDeps("go.mod", []byte("module example.com/x\n\ngo 1.26\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err = Bump(p.manifest(t), deps, snapshot(t), day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Exceptions) != 1 || !plan.Exceptions[0].Drop {
		t.Fatalf("with an empty go.mod: exceptions %+v, want example.com/dep dropped", plan.Exceptions)
	}
}
