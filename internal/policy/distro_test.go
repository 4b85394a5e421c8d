package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// debianFixture reads a trimmed Release file of testdata/debian.
func debianFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "debian", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDebianRelease(t *testing.T) {
	cases := []struct {
		file, suite, codename, version string
		major                          int
		date                           string
	}{
		{"stable.Release", "stable", "trixie", "13.8", 13, "2026-11-21T09:15:44Z"},
		{"oldstable.Release", "oldstable", "bookworm", "12.15", 12, "2026-07-11T10:16:37Z"},
		{"oldoldstable.Release", "oldoldstable", "bullseye", "11.11", 11, "2025-08-09T09:16:30Z"},
		{"testing.Release", "testing", "forky", "", 0, "2026-10-30T08:08:01Z"},
		{"bookworm.InRelease", "oldstable", "bookworm", "12.15", 12, "2026-07-11T10:16:37Z"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, err := ParseDebianRelease(debianFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Suite != tc.suite || r.Codename != tc.codename || r.Version != tc.version || r.Major != tc.major || r.Date.Format(time.RFC3339) != tc.date {
				t.Errorf("got %+v, want %s %s %s (%d) %s", r, tc.suite, tc.codename, tc.version, tc.major, tc.date)
			}
		})
	}
	stable := string(debianFixture(t, "stable.Release"))
	bad := []struct{ name, doc, want string }{
		{"oversize", stable + strings.Repeat(" x\n", 1<<20),
			"a Release file of 3146665 bytes is over the 2 MiB limit: not a Debian Release file"},
		{"html", "<html>captive portal</html>\n", `line 1: "<html>captive portal</html>" is not a "Field: value" line: not a Debian Release file`},
		{"empty", "", "no Origin field: not a Debian Release file (want Origin, Suite, Codename, Version, Date)"},
		{"no codename", strings.Replace(stable, "Codename: trixie\n", "", 1), "no Codename field: not a Debian Release file (want Origin, Suite, Codename, Version, Date)"},
		{"ubuntu", strings.Replace(stable, "Origin: Debian", "Origin: Ubuntu", 1), `the Origin field is "Ubuntu", not Debian: the mirror is not a Debian archive`},
		{"duplicate", strings.Replace(stable, "Suite: stable\n", "Suite: stable\nSuite: testing\n", 1), "line 4: field Suite appears twice"},
		{"bad version", strings.Replace(stable, "Version: 13.8", "Version: 13.8~rc1", 1), `the Version field "13.8~rc1" is not a Debian release number such as 12.15`},
		{"bad date", strings.Replace(stable, "Date: Sat, 21 Nov 2026 09:15:44 UTC", "Date: 2026-11-21", 1), `the Date field "2026-11-21" is not an RFC 1123 date such as "Sat, 11 Jul 2026 10:16:37 UTC"`},
		{"continuation first", " d6c9 1 x\n" + stable, "line 1: a continuation line before any field: not a Debian Release file"},
		{"long field", strings.Replace(stable, "Label: Debian", "Label: "+strings.Repeat("D", 5000), 1), "line 2: field Label is 5007 bytes, over the 4096-byte limit for a Release header"},
		{"unsigned tail", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + stable, "a clearsigned InRelease without its signature block: truncated"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDebianRelease([]byte(tc.doc))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// debianFeeds is the snapshot with the Debian releases of the fixtures.
func debianFeeds(t *testing.T) *Feeds {
	t.Helper()
	f := snapshot(t)
	for _, s := range DebianSuites {
		r, err := ParseDebianRelease(debianFixture(t, s+".Release"))
		if err != nil {
			t.Fatal(err)
		}
		f.Debian = append(f.Debian, r)
	}
	return f
}

// distroManifest is the test manifest with the suite gated by feed: debian
// (line 10) and exc on line 5.
func distroManifest(t *testing.T, lag int, suite, exc string) *manifest.Toolchain {
	t.Helper()
	p := defaults()
	p.lag, p.exceptions = lag, exc
	src := strings.Replace(p.source(), `distro: {name: debian, suite: bookworm, mirror: "http://deb.debian.org/debian"}`,
		`distro: {name: debian, suite: `+suite+`, mirror: "http://deb.debian.org/debian", feed: debian}`, 1)
	m, err := manifest.Parse("toolchain.yaml", []byte(src))
	if err != nil {
		t.Fatalf("test manifest:\n%v", err)
	}
	return m
}

func TestCheckDistro(t *testing.T) {
	f := debianFeeds(t)
	const csv = "(internal/policy/distroinfo/debian.csv)"
	cases := []struct {
		name, suite string
		lag         int
		exc, asOf   string
		status      Status
		floor, why  string
	}{
		{"bookworm today", "bookworm", 2, "", "2026-12-03", StatusWarn, "bullseye",
			"toolchain.yaml:10: debian bookworm (12.15) is oldstable, 1 release behind trixie (13.8, stable, the newest), within N-2 (>= bullseye); bookworm's regular security support ended on 2026-07-11 " + csv + ": Debian LTS covers part of it until 2028-06-30 (fewer packages and architectures); plan the move to trixie"},
		{"bookworm before its eol", "bookworm", 2, "", "2026-07-11", StatusOK, "bullseye",
			"toolchain.yaml:10: debian bookworm (12.15) is oldstable, 1 release behind trixie (13.8, stable, the newest), within N-2 (>= bullseye); regular security support until 2026-07-11 " + csv},
		{"trixie", "trixie", 2, "", "2026-12-03", StatusOK, "bullseye",
			"toolchain.yaml:10: debian trixie (13.8) is stable, the newest release; regular security support until 2028-08-09 " + csv},
		{"bullseye at the floor, LTS over", "bullseye", 2, "", "2026-12-03", StatusWarn, "bullseye",
			"toolchain.yaml:10: debian bullseye (11.11) is oldoldstable, 2 releases behind trixie (13.8, stable, the newest), within N-2 (>= bullseye); bullseye's Debian LTS ended on 2026-08-31 " + csv + ": only commercial Extended LTS (until 2031-06-30) patches it; move to trixie"},
		{"bullseye beyond N-1", "bullseye", 1, "", "2026-12-03", StatusViolation, "bookworm",
			"toolchain.yaml:10: debian bullseye (11.11) is oldoldstable, 2 releases behind trixie (13.8) (N-1 allows trixie, bookworm): move distro.suite to trixie or add an exception with an expiry"},
		{"buster is archived", "buster", 2, "", "2026-12-03", StatusViolation, "bullseye",
			"toolchain.yaml:10: debian buster (10) is older than oldoldstable: the mirror no longer serves it and N-2 allows trixie, bookworm, bullseye: move distro.suite to trixie or add an exception with an expiry"},
		{"forky is testing", "forky", 2, "", "2026-12-03", StatusViolation, "bullseye",
			"toolchain.yaml:10: debian forky is not released (it is testing or unstable): pin a released suite (trixie, bookworm, bullseye) or add an exception with an expiry"},
		{"not debian", "focal", 2, "", "2026-12-03", StatusViolation, "bullseye",
			`toolchain.yaml:10: debian "focal" is not a Debian release the mirror serves (trixie, bookworm, bullseye) nor one internal/policy/distroinfo/debian.csv knows: fix distro.suite`},
		{"alias", "stable", 2, "", "2026-12-03", StatusWarn, "bullseye",
			"toolchain.yaml:10: distro.suite stable is an alias that moves to the next release under the pin: write its codename, trixie; debian trixie (13.8) is stable, the newest release; regular security support until 2028-08-09 " + csv},
		{"excepted at N-0", "bookworm", 0, `    - {name: distro, allow: bookworm, until: "2027-06-30", reason: "packages locked first"}`, "2026-12-03", StatusExcepted, "trixie",
			"toolchain.yaml:10: debian bookworm (12.15) is oldstable, 1 release behind trixie (13.8) (N-0 allows trixie): move distro.suite to trixie or add an exception with an expiry; excepted by toolchain.yaml:5 until 2027-06-30 (210 days left): packages locked first"},
		{"exception allows newer only", "bullseye", 0, `    - {name: distro, allow: bookworm, until: "2027-06-30", reason: "x"}`, "2026-12-03", StatusViolation, "trixie",
			"toolchain.yaml:10: debian bullseye (11.11) is oldoldstable, 2 releases behind trixie (13.8) (N-0 allows trixie): move distro.suite to trixie or add an exception with an expiry; the exception at toolchain.yaml:5 allows distro >= bookworm only"},
		{"expired exception", "bookworm", 0, `    - {name: distro, allow: bookworm, until: "2026-11-30", reason: "x"}`, "2026-12-03", StatusViolation, "trixie",
			"toolchain.yaml:10: debian bookworm (12.15) is oldstable, 1 release behind trixie (13.8) (N-0 allows trixie): move distro.suite to trixie or add an exception with an expiry; the exception at toolchain.yaml:5 expired on 2026-11-30: bump distro and remove the exception, or renew it with a new until and reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(distroManifest(t, tc.lag, tc.suite, tc.exc), nil, f, day(tc.asOf))
			if err != nil {
				t.Fatal(err)
			}
			r := rowNamed(t, rep, manifest.DistroName)
			if r.Status != tc.status || r.Pinned != tc.suite || r.Latest != "trixie" || r.Floor != tc.floor || r.Kind != KindDistro || r.Why != tc.why {
				t.Errorf("row:\n  %s %s latest %s floor %s\n  %s\nwant:\n  %s latest trixie floor %s\n  %s", r.Pinned, r.Status, r.Latest, r.Floor, r.Why, tc.status, tc.floor, tc.why)
			}
		})
	}
}

func TestCheckDistroNeedsItsFeed(t *testing.T) {
	f := snapshot(t) // no Debian releases
	_, err := Check(distroManifest(t, 2, "bookworm", ""), nil, f, day("2026-12-03"))
	if want := "toolchain.yaml:10: distro.suite needs the debian feed, which was not loaded"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	f = debianFeeds(t)
	f.Debian[0], f.Debian[1] = f.Debian[1], f.Debian[0]
	_, err = Check(distroManifest(t, 2, "bookworm", ""), nil, f, day("2026-12-03"))
	if want := "toolchain.yaml:10: the debian feed lists stable trixie (13) after oldstable bookworm (12): releases must get older from stable on; refresh the feed"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// Without feed: debian the suite is not gated, as before, and an
	// exception for it says so.
	p := defaults()
	p.exceptions = `    - {name: distro, allow: bookworm, until: "2027-06-30", reason: "x"}`
	rep, err := Check(p.manifest(t), nil, debianFeeds(t), day("2026-12-03"))
	if err != nil || len(rep.Rows) != 4 {
		t.Fatalf("ungated manifest: %v rows, %v", rep, err)
	}
	if r := rowNamed(t, rep, manifest.DistroName); r.Kind != KindException || r.Status != StatusWarn ||
		r.Why != "toolchain.yaml:5: the exception names distro, but the suite is not gated (distro has no feed: debian): add the feed or remove the exception" {
		t.Errorf("orphan distro exception: %+v", r)
	}
}

// A Release file under the wrong alias (a mirror or snapshot mix-up) would
// shift every release by one: it is refused.
func TestParseFeedsChecksTheAlias(t *testing.T) {
	docs := map[string][]byte{DebianReleaseFile("stable"): debianFixture(t, "oldstable.Release")}
	origin := map[string]string{DebianReleaseFile("stable"): "dists/stable/Release"}
	_, err := ParseFeeds(docs, origin, Need{Debian: true})
	want := "dists/stable/Release: malformed debian stable feed: it is the Release file of oldstable (bookworm), not of stable: the mirror or the snapshot mixed them up"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestBumpLeavesTheSuiteToPeople(t *testing.T) {
	m := distroManifest(t, 0, "bookworm", `    - {name: distro, allow: bookworm, until: "2027-06-30", reason: "x"}`)
	plan, err := Bump(m, nil, debianFeeds(t), day("2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := plan.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"toolchain.yaml:5: keep exception distro (allow bookworm until 2027-06-30): still needed until distro.suite is moved by hand\n",
		"note: a newer Debian release exists: trixie; moving distro.suite is a deliberate change (builder and image packages, locks, kernel source), not a bump\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, text.String())
		}
	}
	for _, c := range plan.Changes {
		if c.Name == manifest.DistroName {
			t.Errorf("bump edits the suite: %+v", c)
		}
	}
}

func TestDebianSupportTable(t *testing.T) {
	rows, err := debianSupport()
	if err != nil {
		t.Fatal(err)
	}
	book, ok := findSupport(rows, "bookworm")
	if !ok || book.Version != "12" || book.EOL.Format(DateLayout) != "2026-07-11" || book.EOLLTS.Format(DateLayout) != "2028-06-30" || !book.Released(day("2023-06-10")) {
		t.Errorf("bookworm = %+v", book)
	}
	if forky, ok := findSupport(rows, "forky"); !ok || forky.Released(day("2026-12-03")) || !forky.EOL.IsZero() {
		t.Errorf("forky = %+v", forky)
	}
	// SOURCE.md records the sha256 of the reviewed table: a change to one
	// without the other is caught here.
	src, err := os.ReadFile(filepath.Join("distroinfo", "SOURCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(debianCSV)
	if !strings.Contains(string(src), "| file sha256 | `"+hex.EncodeToString(sum[:])+"` |") {
		t.Errorf("distroinfo/SOURCE.md does not record debian.csv's sha256 %x: update its table with the file", sum)
	}
	for _, tc := range []struct{ doc, want string }{
		{"version,codename\n", "line 1: want the header version,codename,series,created,release,eol,eol-lts,eol-elts: not distro-info-data's debian.csv"},
		{"version,codename,series,created,release,eol,eol-lts,eol-elts\n12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-07-31x\n", `line 2: eol "2026-07-31x" is not a date (YYYY-MM-DD)`},
		{"version,codename,series,created,release,eol,eol-lts,eol-elts\n12,Bookworm,bookworm\n", "line 2: 3 columns, want 4 to 8 (version,codename,series,created,release,eol,eol-lts,eol-elts)"},
		{"version,codename,series,created,release,eol,eol-lts,eol-elts\n12,B,bookworm,2021-08-14\n12,B,bookworm,2021-08-14\n", "line 3: bookworm appears twice (first at line 2)"},
		{"version,codename,series,created,release,eol,eol-lts,eol-elts\n", "debian.csv lists no release"},
		{strings.Repeat("x", 300<<10), "a debian.csv of 307200 bytes is over the 256 KiB limit: not distro-info-data's table"},
	} {
		if _, err := ParseDebianSupport([]byte(tc.doc)); err == nil || err.Error() != tc.want {
			t.Errorf("got  %v\nwant %s", err, tc.want)
		}
	}
}

// The acceptance of issue 17: `release policy check --feeds testdata/feeds
// --as-of 2026-12-03` on the repository's manifest and go.mod (fixture
// copies of them as of that day) names the Debian suite and cosign/v3. This
// is the path the CLI takes: manifest.Load, LoadDirectDeps, NeedsFor,
// LoadFeeds over DirSource, Check, WriteTable.
func TestPolicyCheckTodaysFeeds(t *testing.T) {
	m, err := manifest.Load(filepath.Join("testdata", "repo", "toolchain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deps, err := LoadDirectDeps(filepath.Join("testdata", "repo", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := LoadFeeds(context.Background(), DirSource{Dir: snapshotDir}, NeedsFor(m, deps))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(m, deps, f, day("2026-12-03"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	var distro, cosign string
	for _, ln := range strings.Split(out.String(), "\n") {
		switch fields := strings.Fields(ln); {
		case len(fields) > 0 && fields[0] == "distro":
			distro = strings.Join(fields, " ")
		case len(fields) > 0 && fields[0] == "github.com/sigstore/cosign/v2":
			cosign = strings.Join(fields, " ")
		}
	}
	wantDistro := "distro bookworm trixie bullseye WARN toolchain.yaml:38: debian bookworm (12.15) is oldstable, 1 release behind trixie (13.8, stable, the newest), within N-2 (>= bullseye); bookworm's regular security support ended on 2026-07-11 (internal/policy/distroinfo/debian.csv): Debian LTS covers part of it until 2028-06-30 (fewer packages and architectures); plan the move to trixie"
	wantCosign := "github.com/sigstore/cosign/v2 v2.6.5 v2.6.5 v2.4 WARN go.mod:19: github.com/sigstore/cosign/v2 v2.6.5 is the latest release; newer major available: github.com/sigstore/cosign/v3 v3.1.3 (a new import path: imports and APIs change, so go get alone does not move to it)"
	if distro != strings.Replace(wantDistro, "toolchain.yaml:", m.Path+":", 1) {
		t.Errorf("distro row:\n got  %s\n want %s", distro, wantDistro)
	}
	if cosign != strings.Replace(wantCosign, "go.mod:", filepath.Join("testdata", "repo", "go.mod")+":", 1) {
		t.Errorf("cosign row:\n got  %s\n want %s", cosign, wantCosign)
	}
	if rep.Count(StatusViolation) != 0 || !strings.HasSuffix(out.String(), "0 violation\n") {
		t.Errorf("violations in today's check:\n%s", out.String())
	}
}
