package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const snapshotDir = "../../testdata/feeds"

func TestParseGoReleases(t *testing.T) {
	// The shape go.dev serves, files included.
	doc := `[
 {"version": "go1.28rc1", "stable": false, "files": [{"filename": "go1.28rc1.src.tar.gz", "os": "", "arch": "", "version": "go1.28rc1", "sha256": "00", "size": 1, "kind": "source"}]},
 {"version": "go1.27.3", "stable": true, "files": []},
 {"version": "go1.20", "stable": false, "files": []},
 {"version": "go1.18beta1", "stable": true, "files": []}
]`
	rels, err := ParseGoReleases([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rels {
		got[r.Raw] = r.Stable
	}
	// A beta flagged stable is still a pre-release: never "latest".
	want := map[string]bool{"go1.28rc1": false, "go1.27.3": true, "go1.20": false, "go1.18beta1": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s stable = %v, want %v", k, got[k], v)
		}
	}
	for _, bad := range []string{``, `{}`, `[]`, `[{"version": "1.27.3", "stable": true}]`, `[{"version": "go1.27.3"}]`, `[{"version": "gox", "stable": true}]`} {
		if _, err := ParseGoReleases([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseRustReleases(t *testing.T) {
	doc := `Version 1.101.0 (2026-12-24)
===========================

<a id="1.101.0-Language"></a>

Language
--------
- Version 1.2.3 (this line is not a heading) of a crate
Version 1.100.0 (2026-11-12)
============================

Version 1.99.1 (2026-10-15)
===========================

Version 1.0.0-alpha (2015-01-09)
================================

Version 0.12.0 (2014-10-09)
===========================
`
	rels, err := ParseRustReleases([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rels {
		names = append(names, r.Raw+"@"+r.Date.Format(DateLayout))
	}
	if got, want := strings.Join(names, " "), "1.101.0@2026-12-24 1.100.0@2026-11-12 1.99.1@2026-10-15 0.12.0@2014-10-09"; got != want {
		t.Errorf("releases = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "# Changelog\n\n## 1.2.3\n", "Version 1.2.3 (2026-02-30)\n", "Version 1.2.3 (2026-01-01)\nVersion 1.2.3 (2026-01-02)\n"} {
		if _, err := ParseRustReleases([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseKernelReleases(t *testing.T) {
	doc := `{"latest_stable": {"version": "7.3.9"}, "releases": [
 {"iseol": false, "version": "7.4-rc5", "moniker": "mainline", "released": {"timestamp": 1, "isodate": "2026-11-22"}},
 {"iseol": true, "version": "7.2.21", "moniker": "stable", "released": {"timestamp": 1, "isodate": "2026-11-02"}},
 {"iseol": false, "version": "6.12.119", "moniker": "longterm", "released": {"timestamp": 1, "isodate": "2026-11-20"}},
 {"iseol": false, "version": "next-20261120", "moniker": "linux-next", "released": {"timestamp": 1, "isodate": "2026-11-20"}}
]}`
	rels, err := ParseKernelReleases([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 3 {
		t.Fatalf("got %d releases, want 3 (linux-next dropped)", len(rels))
	}
	if rels[1].Series() != "7.2" || !rels[1].EOL || rels[2].Series() != "6.12" || rels[2].Moniker != MonikerLongterm {
		t.Errorf("parsed %+v", rels)
	}
	if !toolchainLine.pre(rels[0].Version) {
		t.Error("7.4-rc5 is not a pre-release")
	}
	for _, bad := range []string{`[]`, `{"releases": []}`,
		`{"latest_stable": {"version": "1"}, "releases": [{"iseol": false, "version": "6.1.1", "moniker": "lts", "released": {"isodate": "2026-01-01"}}]}`,
		`{"latest_stable": {"version": "1"}, "releases": [{"version": "6.1.1", "moniker": "longterm", "released": {"isodate": "2026-01-01"}}]}`,
		`{"latest_stable": {"version": "1"}, "releases": [{"iseol": false, "version": "6.1.1", "moniker": "longterm", "released": {"isodate": "yesterday"}}]}`,
	} {
		if _, err := ParseKernelReleases([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseModuleList(t *testing.T) {
	vs, err := ParseModuleList([]byte("v1.10.2\nv1.9.1\nv1.10.0-rc.1\n\nv2.0.0+incompatible\n"))
	if err != nil || len(vs) != 4 {
		t.Fatalf("%v, %v", vs, err)
	}
	if vs, err := ParseModuleList(nil); err != nil || len(vs) != 0 {
		t.Errorf("an untagged module's empty list: %v %v", vs, err)
	}
	if _, err := ParseModuleList([]byte("<html>not found</html>\n")); err == nil {
		t.Error("HTML parsed as a version list")
	}
	name, err := ModuleListName("github.com/Masterminds/semver/v3")
	if err != nil || name != "modules/github.com/!masterminds/semver/v3/@v/list" {
		t.Errorf("ModuleListName = %q, %v", name, err)
	}
}

// TestSnapshotParses pins down what the committed snapshot says, so a
// refresh that changes the facts the other tests rely on is noticed here.
func TestSnapshotParses(t *testing.T) {
	need := Need{Go: true, Rust: true, Kernel: true, Modules: []string{"github.com/spf13/cobra", "gopkg.in/yaml.v3"}}
	f, err := LoadFeeds(context.Background(), DirSource{Dir: snapshotDir}, need)
	if err != nil {
		t.Fatal(err)
	}
	newestStable := func(raws []string) string { return raws[0] }
	var goStable []string
	for _, r := range f.Go {
		if r.Stable {
			goStable = append(goStable, r.Raw)
		}
	}
	if got := newestStable(goStable); got != "go1.27.3" {
		t.Errorf("newest stable Go = %s, want go1.27.3", got)
	}
	if f.Rust[0].Raw != "1.100.0" || f.Rust[0].Date.Format(DateLayout) != "2026-11-12" {
		t.Errorf("newest Rust = %s (%s)", f.Rust[0].Raw, f.Rust[0].Date)
	}
	var lts []string
	for _, r := range f.Kernel {
		if r.Moniker == MonikerLongterm {
			lts = append(lts, r.Raw)
		}
	}
	if got := strings.Join(lts, " "); !strings.HasPrefix(got, "6.18.") || !strings.Contains(got, " 6.12.1") {
		t.Errorf("longterm kernels = %s", got)
	}
	if len(f.Modules["github.com/spf13/cobra"]) == 0 || f.Origin[GoFeedFile] != filepath.Join(snapshotDir, "go.json") {
		t.Errorf("modules/origin: %v %v", f.Modules, f.Origin)
	}
}

func TestLoadFeedsReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, GoFeedFile), []byte(`{"not": "a list"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFeeds(context.Background(), DirSource{Dir: dir}, Need{Go: true, Kernel: true, Modules: []string{"example.com/m"}})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		filepath.Join(dir, "go.json") + ": malformed go feed: not the go.dev/dl JSON list",
		"kernel feed: " + filepath.Join(dir, "releases.json") + " does not exist",
		"module example.com/m feed: " + filepath.Join(dir, "modules/example.com/m/@v/list") + " does not exist",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, ErrFeedUnavailable) {
		t.Error("missing files are not ErrFeedUnavailable")
	}
}

// TestSnapshotDebianAndMajors pins what the 2026-12-03 refresh says (see
// testdata/feeds/README.md): the three Debian releases, and cosign's walk
// ending at v4 where cobra's ends at v2.
func TestSnapshotDebianAndMajors(t *testing.T) {
	need := Need{Debian: true, Majors: []string{"github.com/sigstore/cosign/v2", "github.com/spf13/cobra", "gopkg.in/yaml.v3"}}
	f, err := LoadFeeds(context.Background(), DirSource{Dir: snapshotDir}, need)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, r := range f.Debian {
		rels = append(rels, r.Suite+"="+r.Codename+"/"+r.Version+"@"+r.Date.Format(DateLayout))
	}
	if got := strings.Join(rels, " "); got != "stable=trixie/13.8@2026-11-21 oldstable=bookworm/12.15@2026-07-11 oldoldstable=bullseye/11.11@2025-08-09" {
		t.Errorf("debian releases = %s", got)
	}
	cosign := f.Majors["github.com/sigstore/cosign/v2"]
	if len(cosign) != 1 || cosign[0].Path != "github.com/sigstore/cosign/v3" || cosign[0].Major != 3 || len(cosign[0].Versions) != 3 || cosign[0].Versions[2].Original() != "v3.1.3" {
		t.Errorf("cosign majors = %+v", cosign)
	}
	if m, ok := f.Majors["github.com/spf13/cobra"]; !ok || len(m) != 0 {
		t.Errorf("cobra majors = %+v, %v; want none, recorded", m, ok)
	}
	for _, p := range []string{"github.com/sigstore/cosign/v4", "gopkg.in/yaml.v4", "github.com/spf13/cobra/v2"} {
		if _, err := os.Stat(filepath.Join(snapshotDir, ModuleAbsentName(p))); err != nil {
			t.Errorf("no absent record for %s: %v", p, err)
		}
	}
}
