package version

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Tag is one existing git tag, as read from the repository.
type Tag struct {
	// Name is the tag as written in git, e.g. v1.3.0.
	Name string `json:"name"`
	// Date is the tagger date of an annotated tag or the commit date of a
	// lightweight one: the day the release was made.
	Date time.Time `json:"date"`
	// Commit is the commit the tag points at (peeled).
	Commit string `json:"commit"`
}

// release is a tag that follows our scheme: vX.Y.Z, or vX.0.0-rc.N for a
// major's release candidate.
type release struct {
	Tag
	V  *semver.Version
	RC int // 0 for a final release
}

func (r release) final() bool { return r.RC == 0 }

// rcPattern is the only pre-release we cut: release candidates of a major.
var rcPattern = regexp.MustCompile(`^rc\.([1-9][0-9]*)$`)

// ParseTag parses a tag name of our scheme. It rejects everything else,
// including valid semver we never produce (v1.2.3-beta, v1.2.3+meta, 1.2.3).
func ParseTag(name string) (*semver.Version, int, error) {
	if !strings.HasPrefix(name, "v") {
		return nil, 0, fmt.Errorf("tag %q: release tags start with \"v\" (vX.Y.Z)", name)
	}
	v, err := semver.StrictNewVersion(strings.TrimPrefix(name, "v"))
	if err != nil {
		return nil, 0, fmt.Errorf("tag %q: not vX.Y.Z or vX.0.0-rc.N: %w", name, err)
	}
	if v.Metadata() != "" {
		return nil, 0, fmt.Errorf("tag %q: build metadata is not part of a release tag", name)
	}
	if v.Prerelease() == "" {
		return v, 0, nil
	}
	m := rcPattern.FindStringSubmatch(v.Prerelease())
	if m == nil {
		return nil, 0, fmt.Errorf("tag %q: the only pre-release is -rc.N", name)
	}
	if v.Minor() != 0 || v.Patch() != 0 {
		return nil, 0, fmt.Errorf("tag %q: release candidates exist only for majors (vX.0.0-rc.N)", name)
	}
	n, _ := strconv.Atoi(m[1]) // the pattern guarantees digits
	return v, n, nil
}

// TagName is the git tag for v.
func TagName(v *semver.Version) string { return "v" + v.String() }

// history is the set of existing tags, split into ours and the rest.
type history struct {
	releases []release // ours, sorted ascending by version
	// taken holds every existing tag name, and for semver-looking names also
	// the normalised "vX.Y.Z[-pre]" form, so 1.3.0 blocks v1.3.0 as well.
	taken map[string]Tag
}

func newHistory(tags []Tag) history {
	h := history{taken: map[string]Tag{}}
	for _, t := range tags {
		h.taken[t.Name] = t
		if v, err := semver.NewVersion(t.Name); err == nil {
			h.taken[TagName(v)] = t
		}
		v, rc, err := ParseTag(t.Name)
		if err != nil {
			continue // not a release tag of ours: it only blocks its own name
		}
		h.releases = append(h.releases, release{Tag: t, V: v, RC: rc})
	}
	sort.SliceStable(h.releases, func(i, j int) bool { return h.releases[i].V.LessThan(h.releases[j].V) })
	return h
}

// latestFinal is the highest final release, or nil.
func (h history) latestFinal() *release {
	for i := len(h.releases) - 1; i >= 0; i-- {
		if h.releases[i].final() {
			return &h.releases[i]
		}
	}
	return nil
}

// rcsOf lists the release candidates of vmajor.0.0, ascending.
func (h history) rcsOf(major uint64) []release {
	var out []release
	for _, r := range h.releases {
		if !r.final() && r.V.Major() == major {
			out = append(out, r)
		}
	}
	return out
}

// atCommit returns the highest release of ours pointing at commit, or nil.
func (h history) atCommit(commit string, finalOnly bool) *release {
	if commit == "" {
		return nil
	}
	for i := len(h.releases) - 1; i >= 0; i-- {
		r := h.releases[i]
		if r.Commit == commit && (r.final() || !finalOnly) {
			return &h.releases[i]
		}
	}
	return nil
}

// minorsSince returns the final X.Y.0 releases dated on or after from.
func (h history) minorsSince(from time.Time) []release {
	var out []release
	for _, r := range h.releases {
		if r.final() && r.V.Patch() == 0 && !dateOnly(r.Date).Before(from) {
			out = append(out, r)
		}
	}
	return out
}
