package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/guestforge/guestforge/internal/manifest"
)

// tmpl is a manifest with the pins as parameters; exceptions go on line 5.
const tmpl = `epoch: 1767225600
policy:
  lag: %d
  exceptions:
%s
toolchains:
  go:   {version: "%s", feed: go}
  rust: {version: "%s", feed: rust}
kernel: {version: "%s", url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-%s.tar.xz", sha256: "e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703", feed: kernel}
distro: {name: debian, suite: bookworm, mirror: "http://deb.debian.org/debian"}
architectures: [x86_64]
targets:
  - {arch: x86_64, variant: default, images: [default], status: supported, maintainers: ["@g/x86"]}
`

type pins struct {
	lag                int
	exceptions         string // YAML list items, or "" for none
	goV, rustV, kernel string
}

func (p pins) source() string {
	exc := p.exceptions
	if exc == "" {
		exc = "    []"
		// "exceptions:\n    []" is a valid empty list.
	}
	return fmt.Sprintf(tmpl, p.lag, exc, p.goV, p.rustV, p.kernel, p.kernel)
}

func (p pins) manifest(t *testing.T) *manifest.Toolchain {
	t.Helper()
	m, err := manifest.Parse("toolchain.yaml", []byte(p.source()))
	if err != nil {
		t.Fatalf("test manifest:\n%v", err)
	}
	return m
}

func defaults() pins {
	return pins{lag: 2, goV: "1.26.8", rustV: "1.100.0", kernel: "6.12.119"}
}

const rustException = `    - {name: rust, allow: "1.95.0", until: "2027-01-31", reason: "msrv"}`

func snapshot(t *testing.T) *Feeds {
	t.Helper()
	f, err := LoadFeeds(context.Background(), DirSource{Dir: snapshotDir}, Need{Go: true, Rust: true, Kernel: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func day(s string) time.Time {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func rowNamed(t *testing.T, rep *Report, name string) Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %s in %+v", name, rep.Rows)
	return Row{}
}

func TestCheckToolchains(t *testing.T) {
	f := snapshot(t)
	cases := []struct {
		name   string
		pins   func(p *pins)
		asOf   string
		row    string
		status Status
		latest string
		floor  string
		why    string // the exact why
	}{
		{"rust three minors behind", func(p *pins) { p.rustV = "1.97.0" }, "2026-11-22", "rust", StatusViolation, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.97 is 3 releases behind 1.100 (N-2 allows >= 1.98); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry"},
		{"rust at the floor", func(p *pins) { p.rustV = "1.98.0" }, "2026-11-22", "rust", StatusOK, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.98 is 2 releases behind 1.100, within N-2 (>= 1.98)"},
		{"rust latest", func(p *pins) {}, "2026-11-22", "rust", StatusOK, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.100.0 is the latest release"},
		{"rust excepted", func(p *pins) { p.rustV, p.exceptions = "1.95.0", rustException }, "2026-11-22", "rust", StatusExcepted, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.95 is 5 releases behind 1.100 (N-2 allows >= 1.98); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry; excepted by toolchain.yaml:5 until 2027-01-31 (71 days left): msrv"},
		{"exception valid on its last day", func(p *pins) { p.rustV, p.exceptions = "1.95.0", rustException }, "2027-01-31", "rust", StatusExcepted, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.95 is 5 releases behind 1.100 (N-2 allows >= 1.98); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry; excepted by toolchain.yaml:5 until 2027-01-31 (1 day left): msrv"},
		{"expired exception", func(p *pins) { p.rustV, p.exceptions = "1.95.0", rustException }, "2027-02-01", "rust", StatusViolation, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.95 is 5 releases behind 1.100 (N-2 allows >= 1.98); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry; the exception at toolchain.yaml:5 expired on 2027-01-31: bump rust and remove the exception, or renew it with a new until and reason"},
		{"expired exception on a pin within policy", func(p *pins) { p.exceptions = rustException }, "2027-02-01", "rust", StatusViolation, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.100.0 is the latest release; the exception at toolchain.yaml:5 expired on 2027-01-31: bump rust and remove the exception, or renew it with a new until and reason"},
		{"exception no longer needed", func(p *pins) { p.exceptions = rustException }, "2026-11-22", "rust", StatusWarn, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.100.0 is the latest release; the exception at toolchain.yaml:5 is no longer needed: remove it"},
		{"exception below the pin's need", func(p *pins) { p.rustV, p.exceptions = "1.94.0", rustException }, "2026-11-22", "rust", StatusViolation, "1.100.0", "1.98",
			"toolchain.yaml:8: rust 1.94 is 6 releases behind 1.100 (N-2 allows >= 1.98); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry; the exception at toolchain.yaml:5 allows rust >= 1.95.0 only"},
		{"releases after as-of do not count", func(p *pins) { p.rustV = "1.94.0" }, "2026-07-08", "rust", StatusOK, "1.96.0", "1.94",
			"toolchain.yaml:8: rust 1.94 is 2 releases behind 1.96, within N-2 (>= 1.94)"},
		{"rust pin released after as-of", func(p *pins) { p.rustV = "1.97.0" }, "2026-07-08", "rust", StatusViolation, "1.96.0", "1.94",
			"toolchain.yaml:8: rust 1.97.0 is newer than the newest release upstream (1.96.0): fix the pin or refresh the feed"},
		{"lag 0", func(p *pins) { p.lag, p.rustV = 0, "1.99.0" }, "2026-11-22", "rust", StatusViolation, "1.100.0", "1.100",
			"toolchain.yaml:8: rust 1.99 is 1 release behind 1.100 (N-0 allows >= 1.100); bump it to 1.100.0 (release policy bump --write) or add an exception with an expiry"},
		{"go N-1 newest patch", func(p *pins) {}, "2026-11-22", "go", StatusOK, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.26 is 1 release behind 1.27, within N-2 (>= 1.25)"},
		{"go N-1 old patch", func(p *pins) { p.goV = "1.26.5" }, "2026-11-22", "go", StatusWarn, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.26 is 1 release behind 1.27, within N-2 (>= 1.25); 1.26.8 is out with fixes for 1.26: bump it to 1.26.8 (release policy bump --write)"},
		{"go N-2 passes but is unsupported", func(p *pins) { p.goV = "1.25.13" }, "2026-11-22", "go", StatusWarn, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.25 is 2 releases behind 1.27, within N-2 (>= 1.25); go 1.25 no longer gets security fixes upstream (only 1.27 and 1.26 do): bump to 1.27.3"},
		{"go N-3", func(p *pins) { p.goV = "1.24.13" }, "2026-11-22", "go", StatusViolation, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.24 is 3 releases behind 1.27 (N-2 allows >= 1.25); bump it to 1.27.3 (release policy bump --write) or add an exception with an expiry"},
		{"go patch that does not exist", func(p *pins) { p.goV = "1.26.99" }, "2026-11-22", "go", StatusViolation, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.26.99 is not a release upstream: pin one that exists, e.g. 1.27.3"},
		{"go only as rc", func(p *pins) { p.goV = "1.28.0" }, "2026-11-22", "go", StatusViolation, "1.27.3", "1.25",
			"toolchain.yaml:7: go 1.28.0 is newer than the newest release upstream (1.27.3): fix the pin or refresh the feed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := defaults()
			tc.pins(&p)
			rep, err := Check(p.manifest(t), nil, f, day(tc.asOf))
			if err != nil {
				t.Fatal(err)
			}
			r := rowNamed(t, rep, tc.row)
			if r.Status != tc.status || r.Latest != tc.latest || r.Floor != tc.floor || r.Why != tc.why {
				t.Errorf("row:\n  %s %s latest %s floor %s\n  %s\nwant:\n  %s latest %s floor %s\n  %s",
					r.Name, r.Status, r.Latest, r.Floor, r.Why, tc.status, tc.latest, tc.floor, tc.why)
			}
		})
	}
}

// TestGoPrereleaseNeverLatest adds a go1.28rc1 flagged stable (a feed bug)
// and a beta: neither may become latest.
func TestGoPrereleaseNeverLatest(t *testing.T) {
	f := snapshot(t)
	extra, err := ParseGoReleases([]byte(`[{"version": "go1.28rc1", "stable": true, "files": []}, {"version": "go1.28beta1", "stable": false, "files": []}]`))
	if err != nil {
		t.Fatal(err)
	}
	f.Go = append(extra, f.Go...)
	rep, err := Check(defaults().manifest(t), nil, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	if r := rowNamed(t, rep, "go"); r.Latest != "1.27.3" || r.Floor != "1.25" {
		t.Errorf("go row %+v", r)
	}
}

func TestCheckKernel(t *testing.T) {
	f := snapshot(t)
	cases := []struct {
		kernel string
		status Status
		why    string
	}{
		{"6.12.119", StatusOK, "toolchain.yaml:9: kernel 6.12.119 is on longterm 6.12 (N-2 allows 6.18, 6.12, 6.6); newer longterm series: 6.18 (6.18.58)"},
		{"6.12.117", StatusWarn, "toolchain.yaml:9: kernel 6.12.117 is on longterm 6.12 (N-2 allows 6.18, 6.12, 6.6); 6.12.117 trails 6.12.119 by 2 patch releases: update kernel version, url and sha256 together when the source (e.g. Debian's linux-source) has it; newer longterm series: 6.18 (6.18.58)"},
		{"6.18.58", StatusOK, "toolchain.yaml:9: kernel 6.18.58 is on longterm 6.18 (N-2 allows 6.18, 6.12, 6.6)"},
		{"6.1.193", StatusViolation, "toolchain.yaml:9: kernel 6.1.193 is on longterm 6.1, the 4th newest longterm series; N-2 allows 6.18, 6.12, 6.6: move to a longterm series (6.18, 6.12, 6.6) or add an exception with an expiry"},
		{"5.4.300", StatusViolation, "toolchain.yaml:9: kernel series 5.4 is not listed on kernel.org (end of life): move to a longterm series (6.18, 6.12, 6.6) or add an exception with an expiry"},
		{"7.2.21", StatusViolation, "toolchain.yaml:9: kernel series 7.2 reached end of life upstream (last release 7.2.21): move to a longterm series (6.18, 6.12, 6.6) or add an exception with an expiry"},
		{"7.3.9", StatusWarn, "toolchain.yaml:9: kernel 7.3.9 is on the stable series 7.3, which is not longterm and reaches end of life within months: prefer longterm 6.18"},
		{"7.4", StatusViolation, "toolchain.yaml:9: kernel 7.4 is in the mainline series 7.4, which has only release candidates: move to a longterm series (6.18, 6.12, 6.6) or add an exception with an expiry"},
		{"6.12.200", StatusViolation, "toolchain.yaml:9: kernel 6.12.200 is on longterm 6.12 (N-2 allows 6.18, 6.12, 6.6); kernel 6.12.200 is newer than 6.12's latest release 6.12.119: fix the pin or refresh the feed"},
	}
	for _, tc := range cases {
		t.Run(tc.kernel, func(t *testing.T) {
			p := defaults()
			p.kernel = tc.kernel
			rep, err := Check(p.manifest(t), nil, f, day("2026-11-22"))
			if err != nil {
				t.Fatal(err)
			}
			r := rowNamed(t, rep, "kernel")
			if r.Status != tc.status || r.Why != tc.why || r.Floor != "6.6" {
				t.Errorf("kernel row:\n  %s floor %s: %s\nwant:\n  %s floor 6.6: %s", r.Status, r.Floor, r.Why, tc.status, tc.why)
			}
		})
	}
	t.Run("exception keeps an old series", func(t *testing.T) {
		p := defaults()
		p.kernel = "6.1.193"
		p.exceptions = `    - {name: kernel, allow: "6.1.190", until: "2026-12-31", reason: "vendor driver"}`
		rep, err := Check(p.manifest(t), nil, f, day("2026-11-22"))
		if err != nil {
			t.Fatal(err)
		}
		if r := rowNamed(t, rep, "kernel"); r.Status != StatusExcepted || !strings.HasSuffix(r.Why, "excepted by toolchain.yaml:5 until 2026-12-31 (40 days left): vendor driver") {
			t.Errorf("kernel row %+v", r)
		}
	})
}

func moduleFeeds(t *testing.T, lists map[string]string) *Feeds {
	t.Helper()
	f := snapshot(t)
	f.Modules = map[string][]*semver.Version{}
	for path, list := range lists {
		vs, err := ParseModuleList([]byte(list))
		if err != nil {
			t.Fatal(err)
		}
		f.Modules[path] = vs
	}
	return f
}

func TestCheckModules(t *testing.T) {
	f := moduleFeeds(t, map[string]string{
		"example.com/old":    "v1.2.0\nv1.3.0\nv1.4.0\nv1.5.0\nv1.6.0-rc.1\nv2.0.0+incompatible\n",
		"example.com/ok":     "v0.46.0\nv0.47.0\nv0.48.0\nv0.49.0\nv0.47.1\n",
		"example.com/pseudo": "v1.0.0\nv1.1.0\n",
		"example.com/none":   "",
		"example.com/rc":     "v1.0.0\nv1.1.0\nv1.2.0-rc.1\n",
	})
	deps := []Dependency{
		{Path: "example.com/old", Version: "v1.2.0", File: "go.mod", Line: 6},
		{Path: "example.com/ok", Version: "v0.47.0", File: "go.mod", Line: 7},
		{Path: "example.com/pseudo", Version: "v1.1.1-0.20250828195352-b9e47831ad9f", File: "go.mod", Line: 8},
		{Path: "example.com/none", Version: "v0.0.0-20251022142026-3a174f9686a8", File: "go.mod", Line: 9},
		{Path: "example.com/rc", Version: "v1.2.0-rc.1", File: "go.mod", Line: 10},
	}
	p := defaults()
	p.exceptions = `    - {name: example.com/gone, allow: "v1.0.0", until: "2027-01-31", reason: "x"}`
	rep, err := Check(p.manifest(t), deps, f, day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status             Status
		latest, floor, why string
	}{
		"example.com/old": {StatusViolation, "v1.5.0", "v1.3",
			"go.mod:6: example.com/old v1.2 is 3 releases behind v1.5 (N-2 allows >= v1.3); run go get example.com/old@v1.5.0 or add an exception with an expiry"},
		"example.com/ok": {StatusWarn, "v0.49.0", "v0.47",
			"go.mod:7: example.com/ok v0.47 is 2 releases behind v0.49, within N-2 (>= v0.47); v0.47.1 is out with fixes for v0.47: run go get example.com/ok@v0.47.1"},
		"example.com/pseudo": {StatusWarn, "v1.1.0", "v1.0",
			"go.mod:8: example.com/pseudo v1.1.1-0.20250828195352-b9e47831ad9f is ahead of the latest release v1.1.0; v1.1.1-0.20250828195352-b9e47831ad9f is an untagged commit (pseudo-version): pin a release with go get example.com/pseudo@v1.1.0"},
		"example.com/none": {StatusWarn, "", "",
			"go.mod:9: no stable release upstream to compare with; N-2 cannot be applied"},
		"example.com/rc": {StatusWarn, "v1.1.0", "v1.0",
			"go.mod:10: example.com/rc v1.2.0-rc.1 is ahead of the latest release v1.1.0; v1.2.0-rc.1 is a pre-release: pin a stable release"},
		"example.com/gone": {StatusWarn, "", "",
			"toolchain.yaml:5: the exception names example.com/gone, which is not a direct dependency in go.mod: remove it"},
	}
	for name, w := range want {
		r := rowNamed(t, rep, name)
		if r.Status != w.status || r.Latest != w.latest || r.Floor != w.floor || r.Why != w.why {
			t.Errorf("%s:\n  %s latest %s floor %s: %s\nwant:\n  %s latest %s floor %s: %s", name, r.Status, r.Latest, r.Floor, r.Why, w.status, w.latest, w.floor, w.why)
		}
	}
	if got := rep.Count(StatusViolation); got != 1 {
		t.Errorf("%d violations, want 1", got)
	}
}

func TestCheckNeedsItsFeeds(t *testing.T) {
	f := snapshot(t)
	f.Rust = nil
	_, err := Check(defaults().manifest(t), []Dependency{{Path: "example.com/x", Version: "v1.0.0", File: "go.mod", Line: 3}}, f, day("2026-11-22"))
	if err == nil {
		t.Fatal("no error without the rust feed and the module list")
	}
	for _, want := range []string{"toolchain.yaml:8: rust needs the rust feed, which was not loaded", "go.mod:3: example.com/x needs its module version list, which was not loaded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestReportRendering(t *testing.T) {
	p := defaults()
	p.rustV = "1.97.0"
	rep, err := Check(p.manifest(t), nil, snapshot(t), day("2026-11-22"))
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[2], "rust    1.97.0    1.100.0   1.98   VIOLATION") ||
		lines[4] != "3 pins checked as of 2026-11-22 (N-2): 2 ok, 0 warn, 0 excepted, 1 violation" {
		t.Errorf("table:\n%s", table.String())
	}
	var js strings.Builder
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"name": "rust",`) || !strings.Contains(js.String(), `"status": "violation",`) || !strings.Contains(js.String(), `"as_of": "2026-11-22"`) {
		t.Errorf("json:\n%s", js.String())
	}
}

func TestParseAsOf(t *testing.T) {
	got, err := ParseAsOf("2026-11-22")
	if err != nil || !got.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseAsOf(2026-11-22) = %v, %v", got, err)
	}
	before := time.Now().UTC()
	got, err = ParseAsOf("")
	if err != nil || got.Before(before) || got.Location() != time.UTC {
		t.Errorf("ParseAsOf(\"\") = %v, %v; want now in UTC", got, err)
	}
	if _, err := ParseAsOf("22.11.2026"); err == nil || err.Error() != `--as-of "22.11.2026": write a date as YYYY-MM-DD` {
		t.Errorf("ParseAsOf(22.11.2026): %v", err)
	}
}
