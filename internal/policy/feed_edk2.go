package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// Edk2Release is one edk2 stable release: tag edk2-stableYYYYMM, which
// toolchain.yaml writes as Version YYYY.MM.
type Edk2Release struct {
	Version string
	Date    time.Time
}

// edk2TagRe is the stable tag form; edk2 cuts one a quarter (Feb, May, Aug,
// Nov) and tags nothing else as stable.
var edk2TagRe = regexp.MustCompile(`^edk2-stable(20[0-9]{2})(0[1-9]|1[0-2])$`)

// ParseEdk2Releases reads GitHub's release list of tianocore/edk2 (a JSON
// array of {tag_name, draft, prerelease, published_at}). Drafts,
// pre-releases and tags that are not stable releases are left out; a
// document with no stable release at all is not that list.
func ParseEdk2Releases(data []byte) ([]Edk2Release, error) {
	var doc []struct {
		Tag        string `json:"tag_name"`
		Draft      bool   `json:"draft"`
		Prerelease bool   `json:"prerelease"`
		Published  string `json:"published_at"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a GitHub release list (a JSON array of releases): %v", err)
	}
	var rels []Edk2Release
	for i, r := range doc {
		m := edk2TagRe.FindStringSubmatch(r.Tag)
		if m == nil || r.Draft || r.Prerelease {
			continue
		}
		when, err := time.Parse(time.RFC3339, r.Published)
		if err != nil {
			return nil, fmt.Errorf("release %d (%s): published_at %q is not an RFC 3339 time", i, r.Tag, r.Published)
		}
		rels = append(rels, Edk2Release{Version: m[1] + "." + m[2], Date: when.UTC()})
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("no edk2-stableYYYYMM release in the list: it is truncated or not tianocore/edk2's")
	}
	// YYYY.MM sorts as text.
	slices.SortFunc(rels, func(a, b Edk2Release) int { return strings.Compare(b.Version, a.Version) })
	return slices.CompactFunc(rels, func(a, b Edk2Release) bool { return a.Version == b.Version }), nil
}

// edk2Verdict is N-<lag> over the stable releases published by day: each
// quarterly release is one step, so the floor is the lag-th newest.
func edk2Verdict(pinned string, all []Edk2Release, lag int, day time.Time) (verdict, error) {
	var rels []Edk2Release
	for _, r := range all {
		if !r.Date.After(day.Add(24*time.Hour - time.Nanosecond)) {
			rels = append(rels, r)
		}
	}
	if len(rels) == 0 {
		return verdict{}, fmt.Errorf("the edk2 feed lists no stable release published by %s, so N-%d cannot be checked: refresh it (release policy snapshot --out DIR)", day.Format(time.DateOnly), lag)
	}
	v := verdict{status: StatusOK, latest: rels[0].Version, floor: rels[min(lag, len(rels)-1)].Version}
	v.target = v.latest
	tag := func(ver string) string { return manifest.Edk2{Version: ver}.Tag() }
	behind := slices.IndexFunc(rels, func(r Edk2Release) bool { return r.Version == pinned })
	switch {
	case pinned > v.latest:
		v.violate("edk2 %s is newer than the newest stable release upstream (%s): fix the pin or refresh the feed", pinned, tag(v.latest))
	case behind < 0:
		v.violate("edk2 %s (%s) is not a stable release upstream: pin one that exists, e.g. %s", pinned, tag(pinned), v.latest)
	case behind > lag:
		v.violate("edk2 %s is %s behind %s (N-%d allows >= %s); bump firmware.edk2 to %s (version, url and sha256 together) or add an exception with an expiry",
			pinned, plural(behind, "release"), v.latest, lag, v.floor, v.latest)
	case behind == 0:
		v.note("edk2 %s is the latest stable release", pinned)
	default:
		v.note("edk2 %s is %s behind %s, within N-%d (>= %s)", pinned, plural(behind, "release"), v.latest, lag, v.floor)
	}
	return v, nil
}

// edk2Row is the firmware's row; nil row and error when no firmware is pinned.
func (ev *evaluator) edk2Row() (Row, error) {
	e := ev.m.Firmware.Edk2
	if ev.f.Edk2 == nil {
		return Row{}, fmt.Errorf("%s:%d: firmware.edk2 needs the edk2 feed, which was not loaded", ev.m.Path, e.Line)
	}
	v, err := edk2Verdict(e.Version, ev.f.Edk2, ev.lag, ev.day)
	if err != nil {
		return Row{}, fmt.Errorf("%s:%d: %w", ev.m.Path, e.Line, err)
	}
	row := Row{Name: manifest.Edk2Name, Kind: KindEdk2, Pinned: e.Version, Latest: v.latest, Floor: v.floor, File: ev.m.Path, Line: e.Line}
	covers := func(allow string) bool { return e.Version >= allow }
	row.Status, row.Why = ev.overlay(manifest.Edk2Name, v, covers, ev.m.Path, e.Line)
	return row, nil
}
