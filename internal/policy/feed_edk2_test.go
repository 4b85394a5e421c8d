package policy

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestEdk2Feed(t *testing.T) {
	data, err := os.ReadFile("../../testdata/feeds/" + Edk2FeedFile)
	if err != nil {
		t.Fatal(err)
	}
	rels, err := ParseEdk2Releases(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 12 || rels[0].Version != "2026.11" || rels[11].Version != "2024.02" {
		t.Fatalf("releases = %v", rels)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, c := range []struct {
		pinned, asOf string
		status       Status
		why          string
	}{
		{"2026.11", "2026-12-04", StatusOK, "edk2 2026.11 is the latest stable release"},
		{"2026.05", "2026-12-04", StatusOK, "edk2 2026.05 is 2 releases behind 2026.11, within N-2 (>= 2026.05)"},
		{"2026.02", "2026-12-04", StatusViolation, "edk2 2026.02 is 3 releases behind 2026.11 (N-2 allows >= 2026.05); bump firmware.edk2 to 2026.11 (version, url and sha256 together) or add an exception with an expiry"},
		// Released after the day of evaluation: not counted yet.
		{"2026.02", "2026-11-26", StatusOK, "edk2 2026.02 is 2 releases behind 2026.08, within N-2 (>= 2026.02)"},
		{"2025.03", "2026-12-04", StatusViolation, "edk2 2025.03 (edk2-stable202503) is not a stable release upstream: pin one that exists, e.g. 2026.11"},
		{"2027.02", "2026-12-04", StatusViolation, "edk2 2027.02 is newer than the newest stable release upstream (edk2-stable202611): fix the pin or refresh the feed"},
	} {
		v, err := edk2Verdict(c.pinned, rels, 2, day(c.asOf))
		if err != nil {
			t.Fatal(err)
		}
		if v.status != c.status || strings.Join(v.why, "; ") != c.why {
			t.Errorf("%s as of %s: %s %q\nwant %s %q", c.pinned, c.asOf, v.status, strings.Join(v.why, "; "), c.status, c.why)
		}
	}
	if _, err := edk2Verdict("2025.02", rels, 2, day("2024-01-01")); err == nil || !strings.Contains(err.Error(), "no stable release published by 2024-01-01") {
		t.Errorf("before every release: %v", err)
	}
}

func TestParseEdk2ReleasesRefusesOtherLists(t *testing.T) {
	for doc, want := range map[string]string{
		`{"message": "API rate limit exceeded"}`:                                                     "not a GitHub release list",
		`[{"tag_name": "v1.0", "published_at": "2025-01-01T00:00:00Z"}]`:                             "no edk2-stableYYYYMM release",
		`[{"tag_name": "edk2-stable202502", "draft": true, "published_at": "2025-01-01T00:00:00Z"}]`: "no edk2-stableYYYYMM release",
		`[{"tag_name": "edk2-stable202502", "published_at": "yesterday"}]`:                           `published_at "yesterday" is not an RFC 3339 time`,
	} {
		if _, err := ParseEdk2Releases([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}
