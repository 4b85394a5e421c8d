package policy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
)

func TestNextMajorPath(t *testing.T) {
	for _, tc := range []struct{ path, next string }{
		{"github.com/spf13/cobra", "github.com/spf13/cobra/v2"},
		{"github.com/sigstore/cosign/v2", "github.com/sigstore/cosign/v3"},
		{"github.com/Masterminds/semver/v3", "github.com/Masterminds/semver/v4"},
		{"gopkg.in/yaml.v3", "gopkg.in/yaml.v4"},
		{"example.com/m/v9", "example.com/m/v10"},
	} {
		if got, ok := nextMajorPath(tc.path); !ok || got != tc.next {
			t.Errorf("nextMajorPath(%s) = %s, %v; want %s", tc.path, got, ok, tc.next)
		}
	}
	if got, ok := nextMajorPath("gopkg.in/yaml"); ok {
		t.Errorf("gopkg.in without .vN has no major to follow, got %s", got)
	}
}

// majors builds the Majors of one module from proxy lists, oldest first.
func majors(t *testing.T, lists ...string) []ModuleMajor {
	t.Helper()
	var out []ModuleMajor
	for i := 0; i+1 < len(lists); i += 2 {
		vs, err := ParseModuleList([]byte(lists[i+1]))
		if err != nil {
			t.Fatal(err)
		}
		n := semver.MustParse(strings.Fields(lists[i+1] + " v0.0.0")[0]).Major()
		out = append(out, ModuleMajor{Path: lists[i], Major: n, Versions: vs})
	}
	return out
}

func TestCheckModuleMajors(t *testing.T) {
	f := moduleFeeds(t, map[string]string{
		"github.com/sigstore/cosign/v2": "v2.6.4\nv2.6.5\n",
		"example.com/far":               "v1.0.0\n",
		"example.com/rc":                "v1.0.0\n",
		"example.com/kept/v2":           "v2.0.0\n",
	})
	f.Majors = map[string][]ModuleMajor{
		"github.com/sigstore/cosign/v2": majors(t, "github.com/sigstore/cosign/v3", "v3.1.1\nv3.1.2\nv3.1.3\nv3.2.0-rc.1\n"),
		"example.com/far":               majors(t, "example.com/far/v2", "v2.0.0\n", "example.com/far/v3", "v3.0.0\n", "example.com/far/v4", "v4.1.0\nv4.0.0\n"),
		"example.com/rc":                majors(t, "example.com/rc/v2", "v2.0.0-rc.1\n"),
		"example.com/kept/v2":           majors(t, "example.com/kept/v3", "v3.0.0\n", "example.com/kept/v4", "v4.0.0\n", "example.com/kept/v5", "v5.0.0\n"),
	}
	deps := []Dependency{
		{Path: "github.com/sigstore/cosign/v2", Version: "v2.6.5", File: "go.mod", Line: 6},
		{Path: "example.com/far", Version: "v1.0.0", File: "go.mod", Line: 7},
		{Path: "example.com/rc", Version: "v1.0.0", File: "go.mod", Line: 8},
		{Path: "example.com/kept/v2", Version: "v2.0.0", File: "go.mod", Line: 9},
	}
	p := defaults()
	p.exceptions = `    - {name: example.com/kept/v2, allow: "v2.0.0", until: "2027-01-31", reason: "v5 needs go 1.28"}`
	rep, err := Check(p.manifest(t), deps, f, day("2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status Status
		why    string
	}{
		"github.com/sigstore/cosign/v2": {StatusWarn,
			"go.mod:6: github.com/sigstore/cosign/v2 v2.6.5 is the latest release; newer major available: github.com/sigstore/cosign/v3 v3.1.3 (a new import path: imports and APIs change, so go get alone does not move to it)"},
		"example.com/far": {StatusViolation,
			"go.mod:7: example.com/far v1.0.0 is the latest release; example.com/far is 3 majors behind its newest major example.com/far/v4 v4.1.0 (N-2 allows trailing by at most 2 majors): move to it (a new import path) or add an exception with an expiry"},
		// A major with only a release candidate has not shipped.
		"example.com/rc": {StatusOK, "go.mod:8: example.com/rc v1.0.0 is the latest release"},
		"example.com/kept/v2": {StatusExcepted,
			"go.mod:9: example.com/kept/v2 v2.0.0 is the latest release; example.com/kept/v2 is 3 majors behind its newest major example.com/kept/v5 v5.0.0 (N-2 allows trailing by at most 2 majors): move to it (a new import path) or add an exception with an expiry; excepted by toolchain.yaml:5 until 2027-01-31 (60 days left): v5 needs go 1.28"},
	}
	for name, w := range want {
		r := rowNamed(t, rep, name)
		if r.Status != w.status || r.Why != w.why {
			t.Errorf("%s:\n  %s: %s\nwant:\n  %s: %s", name, r.Status, r.Why, w.status, w.why)
		}
		if name == "github.com/sigstore/cosign/v2" && r.Latest != "v2.6.5" {
			t.Errorf("cosign/v2's latest is its own major's, got %s", r.Latest)
		}
	}
	plan, err := Bump(p.manifest(t), deps, f, day("2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/sigstore/cosign/v2 has a newer major under github.com/sigstore/cosign/v3; moving to it changes imports, so it is a deliberate change, not a bump"; !strings.Contains(strings.Join(plan.Notes, "\n"), want) {
		t.Errorf("bump notes lack %q: %v", want, plan.Notes)
	}
}

// proxy serves module lists from a map of path -> body; a path mapped to
// a status code string ("404", "410", "403") answers with that status.
func proxy(t *testing.T, lists map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/@v/list")
		body, known := lists[path]
		switch {
		case !ok || !known || body == "404":
			http.Error(w, "not found: "+path, http.StatusNotFound)
		case body == "410":
			http.Error(w, "gone", http.StatusGone)
		case body == "403":
			http.Error(w, "This module version is not available.", http.StatusForbidden)
		default:
			w.Write([]byte(body))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeMajorsLiveAndSnapshot(t *testing.T) {
	srv := proxy(t, map[string]string{
		"example.com/a":    "v1.2.0\n",
		"example.com/a/v2": "v2.0.0\n",
		"example.com/a/v3": "v3.1.0\n",
		"example.com/a/v4": "410",
		"gopkg.in/y.v3":    "v3.0.1\n",
		"gopkg.in/y.v4":    "v4.0.0\n",
	})
	src := LiveSource{Client: &http.Client{Timeout: 5 * time.Second}, GoProxy: srv.URL}
	need := Need{Modules: []string{"example.com/a", "gopkg.in/y.v3"}, Majors: []string{"example.com/a", "gopkg.in/y.v3"}}
	f, err := LoadFeeds(context.Background(), src, need)
	if err != nil {
		t.Fatal(err)
	}
	got := func(f *Feeds, m string) string {
		var s []string
		for _, mm := range f.Majors[m] {
			s = append(s, mm.Path+"@"+mm.Versions[0].Original())
		}
		return strings.Join(s, " ")
	}
	if a, y := got(f, "example.com/a"), got(f, "gopkg.in/y.v3"); a != "example.com/a/v2@v2.0.0 example.com/a/v3@v3.1.0" || y != "gopkg.in/y.v4@v4.0.0" {
		t.Errorf("majors: a = %s; y = %s", a, y)
	}

	dir := t.TempDir()
	// A list left by an earlier snapshot of a major that is gone now.
	stale := filepath.Join(dir, "modules/example.com/a/v4/@v/list")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("v4.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Snapshot(context.Background(), src, need, dir); err != nil {
		t.Fatal(err)
	}
	record, err := os.ReadFile(filepath.Join(dir, "modules/example.com/a/v4/@v/absent"))
	if want := srv.URL + "/example.com/a/v4/@v/list answered 410 Gone\n"; err != nil || string(record) != want {
		t.Errorf("absent record = %q, %v; want %q", record, err, want)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale v4 list survived the snapshot: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "modules/gopkg.in/y.v5/@v/absent")); err != nil {
		t.Errorf("gopkg.in's next major is .v5: %v", err)
	}
	off, err := LoadFeeds(context.Background(), DirSource{Dir: dir}, need)
	if err != nil {
		t.Fatal(err)
	}
	if a := got(off, "example.com/a"); a != "example.com/a/v2@v2.0.0 example.com/a/v3@v3.1.0" {
		t.Errorf("majors from the snapshot: %s", a)
	}

	// Without the record, a missing file is a hole in the snapshot, not "no such major".
	if err := os.Remove(filepath.Join(dir, "modules/example.com/a/v4/@v/absent")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFeeds(context.Background(), DirSource{Dir: dir}, need)
	want := "module example.com/a: probing for a newer major at example.com/a/v4: " + filepath.Join(dir, "modules/example.com/a/v4/@v/list") + " does not exist: add it to the snapshot"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrFeedUnavailable) {
		t.Errorf("got  %v\nwant %s...", err, want)
	}
}

// Only 404 and 410 say a module does not exist; a proxy that refuses (403)
// or fails leaves the question open, and the check cannot pass over it.
func TestProbeMajorsRefusedIsAFailure(t *testing.T) {
	srv := proxy(t, map[string]string{"example.com/a": "v1.0.0\n", "example.com/a/v2": "403"})
	src := LiveSource{Client: &http.Client{Timeout: 5 * time.Second}, GoProxy: srv.URL}
	_, err := LoadFeeds(context.Background(), src, Need{Modules: []string{"example.com/a"}, Majors: []string{"example.com/a"}})
	want := "module example.com/a: probing for a newer major at example.com/a/v2: " + srv.URL + "/example.com/a/v2/@v/list answered 403 Forbidden (only 404 or 410 says there is no such module; any other answer leaves the question open)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrFeedUnavailable) {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// The module's own list answering 404 is not "absent": go.mod requires it.
	_, err = LoadFeeds(context.Background(), src, Need{Modules: []string{"example.com/gone"}})
	if err == nil || err.Error() != "module example.com/gone feed: "+srv.URL+"/example.com/gone/@v/list answered 404 Not Found" {
		t.Errorf("got %v", err)
	}
}

// A proxy that answers every path (a catch-all) cannot keep the walk going
// for ever.
func TestProbeMajorsIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("v1.0.0\n")) }))
	defer srv.Close()
	src := LiveSource{Client: &http.Client{Timeout: 5 * time.Second}, GoProxy: srv.URL}
	_, err := LoadFeeds(context.Background(), src, Need{Majors: []string{"example.com/a"}})
	want := "module example.com/a: still finding newer majors after 100 probes (up to example.com/a/v102): the proxy answers every path; check it"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestNeedsForProbesV1AndLater(t *testing.T) {
	deps := []Dependency{
		{Path: "golang.org/x/mod", Version: "v0.42.0"},
		{Path: "github.com/spf13/cobra", Version: "v1.10.2"},
		{Path: "github.com/sigstore/cosign/v2", Version: "v2.6.5"},
		{Path: "github.com/cyberphone/json-canonicalization", Version: "v0.0.0-20241213102144-19d51d7fe467"},
	}
	m := distroManifest(t, 2, "bookworm", "")
	n := NeedsFor(m, deps)
	if got := strings.Join(n.Majors, " "); got != "github.com/sigstore/cosign/v2 github.com/spf13/cobra" {
		t.Errorf("majors probed for: %s", got)
	}
	if !n.Debian || n.DebianMirror != "http://deb.debian.org/debian" {
		t.Errorf("debian need: %v %s", n.Debian, n.DebianMirror)
	}
}
