package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Summarize reduces a report to what history keeps of it.
func Summarize(r *Report) Summary {
	s := Summary{Version: r.Version, Commit: r.Commit, Created: r.Created, Totals: r.Totals, Sizes: map[string]int64{}}
	for _, a := range r.Artifacts {
		if a.Size > 0 {
			s.Sizes[a.Key()] += a.Size
		}
	}
	return s
}

// history merges earlier reports (and the history they carry) into one list,
// oldest first. A release summarised from its own report wins over the copy
// another report carries in its history; the current version is left out.
func history(cur *Report, earlier []*Report) ([]Summary, error) {
	own := map[string]Summary{}
	carried := map[string]Summary{}
	for _, e := range earlier {
		if e.Version == cur.Version {
			return nil, fmt.Errorf("history report for %s has the same version as the report being built: pass only earlier releases", e.Version)
		}
		if prev, dup := own[e.Version]; dup && prev.Commit != e.Commit {
			return nil, fmt.Errorf("two history reports claim version %s (commits %s and %s): pass one per release", e.Version, prev.Commit, e.Commit)
		}
		own[e.Version] = Summarize(e)
		for _, h := range e.History {
			if _, ok := carried[h.Version]; !ok {
				carried[h.Version] = h
			}
		}
	}
	all := maps.Clone(carried)
	maps.Copy(all, own)
	delete(all, cur.Version)
	out := slices.Collect(maps.Values(all))
	for i := range out {
		if out[i].Sizes == nil {
			out[i].Sizes = map[string]int64{}
		}
	}
	slices.SortFunc(out, func(a, b Summary) int { return compareVersions(a.Version, b.Version, a.Created, b.Created) })
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// compareVersions orders releases: semantic versions numerically (v2026.10.0
// after v2026.9.0), anything else after them by creation time, then name.
func compareVersions(a, b, createdA, createdB string) int {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Or(va.Compare(vb), strings.Compare(a, b))
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Or(strings.Compare(createdA, createdB), strings.Compare(a, b))
}
