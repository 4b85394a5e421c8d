package version

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// history used by most cases: monthly minors on the 15th, one patch.
var baseTags = []Tag{
	{Name: "v1.0.0", Date: day("2026-01-15"), Commit: "c1"},
	{Name: "v1.1.0", Date: day("2026-02-15"), Commit: "c2"},
	{Name: "v1.1.1", Date: day("2026-02-20"), Commit: "c3"},
	{Name: "v1.2.0", Date: day("2026-03-16"), Commit: "c4"}, // a day late
	{Name: "nightly", Date: day("2026-03-30"), Commit: "c4"},
	{Name: "v1.9.0-beta.1", Date: day("2026-03-30"), Commit: "c4"}, // not our scheme: ignored
}

func with(extra ...Tag) []Tag { return append(append([]Tag{}, baseTags...), extra...) }

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		req        Request
		kind       Kind
		tag        string
		reason     string // substring
		due        string
		warn       string // substring of a warning, "" for none
		previous   string
		wantErr    string // substring; set => error expected
		wantErrIs  error
		noPrevious bool
	}{
		{name: "normal month on release day",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5"},
			kind: KindMinor, tag: "v1.3.0", reason: "today is release day 15", due: "2026-04-15", previous: "v1.2.0"},
		{name: "month whose release day passed without a release",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-27"), Head: "c5"},
			kind: KindMinor, tag: "v1.3.0", reason: "not released yet (as of 2026-04-27)", due: "2026-04-15"},
		{name: "month that already has its release",
			req:  Request{Tags: baseTags, AsOf: day("2026-03-20"), Head: "c5"},
			kind: KindNone, reason: "the 2026-03 release is out: v1.2.0 on 2026-03-16; the next minor is due 2026-04-15", due: "2026-03-15"},
		{name: "before the release day, last month released",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-14"), Head: "c5"},
			kind: KindNone, reason: "next minor is due 2026-04-15", due: "2026-03-15"},
		{name: "before the release day, last month missed: catch up",
			req:  Request{Tags: baseTags[:3], AsOf: day("2026-04-14"), Head: "c5"},
			kind: KindMinor, tag: "v1.2.0", reason: "monthly minor for 2026-03", due: "2026-03-15"},
		{name: "early cut counts for its month",
			req:  Request{Tags: with(Tag{Name: "v1.3.0", Date: day("2026-04-12"), Commit: "c5"}), AsOf: day("2026-04-15"), Head: "c6"},
			kind: KindNone, reason: "the 2026-04 release is out: v1.3.0 on 2026-04-12"},
		{name: "HEAD already released",
			req:  Request{Tags: baseTags[:3], AsOf: day("2026-03-15"), Head: "c3"},
			kind: KindNone, reason: "HEAD c3 is already released as v1.1.1"},
		{name: "first release ever",
			req:  Request{AsOf: day("2026-04-15"), Head: "c1"},
			kind: KindMinor, tag: "v0.1.0", reason: "first release", noPrevious: true},
		{name: "release day 31 in February",
			req:  Request{Tags: baseTags, AsOf: day("2026-02-28"), Head: "c5", ReleaseDay: 31},
			kind: KindNone, due: "2026-02-28", reason: "2026-02 release is out: v1.1.0 on 2026-02-15"},
		{name: "year boundary",
			req:  Request{Tags: baseTags, AsOf: day("2027-01-05"), Head: "c5"},
			kind: KindMinor, tag: "v1.3.0", due: "2026-12-15", reason: "monthly minor for 2026-12"},
		{name: "stray tag collides with the computed version",
			req:     Request{Tags: with(Tag{Name: "1.3.0", Date: day("2026-04-01"), Commit: "x"}), AsOf: day("2026-04-15"), Head: "c5"},
			wantErr: "next version v1.3.0", wantErrIs: ErrTagExists},

		{name: "patch",
			req:  Request{Tags: baseTags, AsOf: day("2026-03-25"), Head: "c5", Patch: true},
			kind: KindPatch, tag: "v1.2.1", reason: "v1.2.1 follows v1.2.0"},
		{name: "patch with no release yet",
			req:     Request{AsOf: day("2026-03-25"), Head: "c5", Patch: true},
			wantErr: "no release to patch yet"},
		{name: "patch of a released HEAD",
			req:  Request{Tags: baseTags, AsOf: day("2026-03-25"), Head: "c4", Patch: true},
			kind: KindNone, reason: "commit the fix first"},

		{name: "major starts with rc.1",
			req:  Request{Tags: baseTags, AsOf: day("2026-03-25"), Head: "c5", Major: true},
			kind: KindMajorRC, tag: "v2.0.0-rc.1", reason: "first release candidate of v2.0.0"},
		{name: "next rc",
			req:  Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"}), AsOf: day("2026-03-28"), Head: "c6", Major: true},
			kind: KindMajorRC, tag: "v2.0.0-rc.2", reason: "v2.0.0-rc.2 follows v2.0.0-rc.1"},
		{name: "rc again on the same commit",
			req:  Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"}), AsOf: day("2026-03-28"), Head: "c5", Major: true},
			kind: KindNone, reason: "already tagged v2.0.0-rc.1"},
		{name: "major final promotes the rc",
			req:  Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"}), AsOf: day("2026-03-28"), Head: "c5", Major: true, Final: true},
			kind: KindMajor, tag: "v2.0.0", reason: "v2.0.0 promotes v2.0.0-rc.1"},
		{name: "major final with commits after the rc warns",
			req:  Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"}), AsOf: day("2026-03-28"), Head: "c6", Major: true, Final: true},
			kind: KindMajor, tag: "v2.0.0", warn: "not the commit of v2.0.0-rc.1"},
		{name: "major final without rc",
			req:     Request{Tags: baseTags, AsOf: day("2026-03-28"), Head: "c5", Major: true, Final: true},
			wantErr: "has no release candidate yet"},
		{name: "monthly minor while a major rc is in flight stays on the current line",
			req:  Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"}), AsOf: day("2026-04-15"), Head: "c6"},
			kind: KindMinor, tag: "v1.3.0"},
		{name: "monthly after a major",
			req: Request{Tags: with(Tag{Name: "v2.0.0-rc.1", Date: day("2026-03-25"), Commit: "c5"},
				Tag{Name: "v2.0.0", Date: day("2026-03-28"), Commit: "c5"}), AsOf: day("2026-04-15"), Head: "c6"},
			kind: KindMinor, tag: "v2.1.0", previous: "v2.0.0"},
		{name: "--final alone",
			req:     Request{Tags: baseTags, AsOf: day("2026-03-28"), Final: true},
			wantErr: "use it with --major"},
		{name: "--patch --major",
			req:     Request{Tags: baseTags, AsOf: day("2026-03-28"), Patch: true, Major: true},
			wantErr: "exclude each other"},

		{name: "explicit next minor",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "v1.3.0"},
			kind: KindMinor, tag: "v1.3.0", reason: "explicit --version: the minor after v1.2.0"},
		{name: "explicit patch of an older line",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-01"), Head: "c5", Version: "v1.1.2"},
			kind: KindPatch, tag: "v1.1.2", reason: "the patch after v1.1.1"},
		{name: "explicit second minor of a month warns",
			req:  Request{Tags: baseTags, AsOf: day("2026-03-20"), Head: "c5", Version: "v1.3.0"},
			kind: KindMinor, tag: "v1.3.0", warn: "second minor in the month"},
		{name: "explicit version that skips",
			req:     Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "v1.4.0"},
			wantErr: "allowed now: v1.3.0, v1.2.1, v1.1.2, v1.0.1, v2.0.0-rc.1"},
		{name: "explicit major without --major",
			req:     Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "v2.0.0-rc.1"},
			wantErr: "majors need --major"},
		{name: "explicit existing tag on another commit",
			req:       Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "v1.2.0"},
			wantErrIs: ErrTagExists, wantErr: "never reuses a tag"},
		{name: "explicit existing tag at HEAD: nothing to do (re-run after success)",
			req:  Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c4", Version: "v1.2.0"},
			kind: KindNone, tag: "v1.2.0", reason: "already released at HEAD"},
		{name: "explicit without v",
			req:     Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "1.3.0"},
			wantErr: "write the tag form v1.3.0"},
		{name: "explicit pre-release outside the scheme",
			req:     Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c5", Version: "v1.3.0-beta.1"},
			wantErr: "the only pre-release is -rc.N"},
		{name: "explicit on a released HEAD",
			req:     Request{Tags: baseTags, AsOf: day("2026-04-15"), Head: "c4", Version: "v1.2.1"},
			wantErr: "HEAD c4 is already released as v1.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.ReleaseDay == 0 {
				tt.req.ReleaseDay = 15
			}
			d, err := Decide(tt.req)
			if tt.wantErr != "" || tt.wantErrIs != nil {
				if err == nil {
					t.Fatalf("Decide = %+v, want error %q", d, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs) {
					t.Errorf("error %v is not %v", err, tt.wantErrIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Kind != tt.kind || d.Tag != tt.tag {
				t.Errorf("got %s %q, want %s %q (reason: %s)", d.Kind, d.Tag, tt.kind, tt.tag, d.Reason)
			}
			if d.Tag != "" && d.Tag != "v"+d.Version {
				t.Errorf("tag %q and version %q disagree", d.Tag, d.Version)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tt.reason)
			}
			if tt.due != "" && d.Due.Format(time.DateOnly) != tt.due {
				t.Errorf("due %s, want %s", d.Due.Format(time.DateOnly), tt.due)
			}
			if tt.previous != "" && d.Previous != tt.previous {
				t.Errorf("previous %q, want %q", d.Previous, tt.previous)
			}
			if tt.noPrevious && d.Previous != "" {
				t.Errorf("previous %q, want none", d.Previous)
			}
			joined := strings.Join(d.Warnings, "\n")
			if (tt.warn == "") != (joined == "") || !strings.Contains(joined, tt.warn) {
				t.Errorf("warnings %q, want %q", d.Warnings, tt.warn)
			}
		})
	}
}

func TestDecideInputs(t *testing.T) {
	if _, err := Decide(Request{AsOf: day("2026-01-01"), ReleaseDay: 0}); err == nil || !strings.Contains(err.Error(), "release.day must be 1-31") {
		t.Errorf("day 0: %v", err)
	}
	if _, err := Decide(Request{ReleaseDay: 15}); err == nil || !strings.Contains(err.Error(), "--as-of") {
		t.Errorf("no as-of: %v", err)
	}
}

// The date of evaluation counts per UTC day: late evening in a zone west of
// UTC is already the next day.
func TestDecideAsOfIsUTCDay(t *testing.T) {
	zone := time.FixedZone("UTC-8", -8*3600)
	asOf := time.Date(2026, 4, 14, 20, 0, 0, 0, zone) // 2026-04-15T04:00Z
	d, err := Decide(Request{Tags: baseTags, AsOf: asOf, Head: "c5", ReleaseDay: 15})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindMinor || d.Due.Format(time.DateOnly) != "2026-04-15" {
		t.Errorf("got %s due %s, want minor due 2026-04-15", d.Kind, d.Due.Format(time.DateOnly))
	}
}

func TestParseTag(t *testing.T) {
	good := map[string]int{"v1.2.3": 0, "v0.1.0": 0, "v2.0.0-rc.1": 1, "v10.0.0-rc.12": 12}
	for name, rc := range good {
		v, gotRC, err := ParseTag(name)
		if err != nil || gotRC != rc || TagName(v) != name {
			t.Errorf("ParseTag(%q) = %v, %d, %v; want rc %d", name, v, gotRC, err, rc)
		}
	}
	bad := map[string]string{
		"1.2.3":        `start with "v"`,
		"v1.2":         "not vX.Y.Z",
		"v01.2.3":      "not vX.Y.Z",
		"v1.2.3-beta":  "only pre-release is -rc.N",
		"v1.2.0-rc.1":  "only for majors",
		"v2.0.0-rc.0":  "only pre-release is -rc.N",
		"v1.2.3+build": "build metadata",
	}
	for name, want := range bad {
		if _, _, err := ParseTag(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTag(%q) error %v, want %q", name, err, want)
		}
	}
}
