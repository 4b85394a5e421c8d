// Package version decides which version the next release gets. It is pure:
// the inputs are the existing tags, the date of evaluation and the release
// manager's flags; nothing reads git or the clock.
//
// The scheme: a minor release X.Y.0 every month on the release day of
// toolchain.yaml, patch releases X.Y.Z+1 on demand, majors only on request and
// always through release candidates vX.0.0-rc.N first. A tag is never reused
// and a commit that already carries a final release is never released again.
package version

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Kind says what sort of release a decision is.
type Kind string

// The kinds of release.
const (
	KindNone    Kind = "none"     // nothing to do
	KindMinor   Kind = "minor"    // the monthly X.Y.0
	KindPatch   Kind = "patch"    // X.Y.Z+1 on demand
	KindMajorRC Kind = "major-rc" // vX.0.0-rc.N
	KindMajor   Kind = "major"    // vX.0.0, promoted from its release candidates
)

// Request holds the inputs of a decision.
type Request struct {
	Tags []Tag
	// AsOf is the date of evaluation (only the UTC day counts).
	AsOf time.Time
	// Head is the commit that would be released; empty when unknown, which
	// disables the "already released" check.
	Head string
	// ReleaseDay is toolchain.yaml's release.day (1-31).
	ReleaseDay int
	// Patch asks for X.Y.Z+1 of the latest release.
	Patch bool
	// Major asks for the next release candidate of the next major;
	// with Final, for the major itself.
	Major bool
	Final bool
	// Version, when set, is an explicit vX.Y.Z; it must be one of the
	// versions the rules allow (next minor, next patch of a line, next rc or
	// the final of the next major), so it cannot skip or reuse numbers.
	Version string
}

// Decision is the answer: which version, of which kind, and why.
type Decision struct {
	Kind Kind `json:"kind"`
	// Version and Tag are empty when Kind is KindNone.
	Version string `json:"version,omitempty"`
	Tag     string `json:"tag,omitempty"`
	// Previous is the latest final release before this one ("" for the first).
	Previous       string `json:"previous,omitempty"`
	PreviousCommit string `json:"previous_commit,omitempty"`
	Reason         string `json:"reason"`
	// Due is the monthly release date the decision was measured against and
	// NextDue the one after it.
	Due      time.Time `json:"due"`
	NextDue  time.Time `json:"next_due"`
	Warnings []string  `json:"warnings,omitempty"`
}

// ErrTagExists is returned when the requested version's tag already exists on
// another commit: tags are never moved or reused.
var ErrTagExists = errors.New("tag already exists")

// Decide applies the release rules. Errors are the manager's mistakes (a
// patch with no release yet, a major without --major, a reused tag) and say
// what to run instead.
func Decide(req Request) (Decision, error) {
	if req.ReleaseDay < 1 || req.ReleaseDay > 31 {
		return Decision{}, fmt.Errorf("release day %d: toolchain.yaml release.day must be 1-31", req.ReleaseDay)
	}
	if req.AsOf.IsZero() {
		return Decision{}, errors.New("no as-of date: pass --as-of YYYY-MM-DD")
	}
	if req.Final && !req.Major {
		return Decision{}, errors.New("--final promotes a major's release candidate: use it with --major")
	}
	if req.Patch && req.Major {
		return Decision{}, errors.New("--patch and --major exclude each other: pick one")
	}
	h := newHistory(req.Tags)
	d := Decision{}
	d.Due, d.NextDue = slotFor(req.AsOf, req.ReleaseDay)
	if prev := h.latestFinal(); prev != nil {
		d.Previous, d.PreviousCommit = prev.Name, prev.Commit
	}

	if req.Version != "" {
		return decideExplicit(h, req, d)
	}
	switch {
	case req.Patch:
		return decidePatch(h, req, d)
	case req.Major:
		return decideMajor(h, req, d)
	default:
		return decideMonthly(h, req, d)
	}
}

func decideMonthly(h history, req Request, d Decision) (Decision, error) {
	month := d.Due.Format("2006-01")
	if done := h.minorsSince(monthStart(d.Due)); len(done) > 0 {
		r := done[0] // the release that served this month
		d.Kind = KindNone
		d.Reason = fmt.Sprintf("the %s release is out: %s on %s; the next minor is due %s",
			month, r.Name, dateOnly(r.Date).Format(time.DateOnly), d.NextDue.Format(time.DateOnly))
		return d, nil
	}
	if r := h.atCommit(req.Head, true); r != nil {
		d.Kind = KindNone
		d.Reason = fmt.Sprintf("HEAD %s is already released as %s: nothing has changed to release for %s",
			short(req.Head), r.Name, month)
		return d, nil
	}
	prev := h.latestFinal()
	var next semver.Version
	if prev == nil {
		next = *semver.New(0, 1, 0, "", "")
	} else {
		next = prev.V.IncMinor()
	}
	d.Kind = KindMinor
	d.Version, d.Tag = next.String(), TagName(&next)
	asOf := dateOnly(req.AsOf)
	switch {
	case prev == nil:
		d.Reason = fmt.Sprintf("first release: the %s monthly minor (due %s)", month, d.Due.Format(time.DateOnly))
	case asOf.Equal(d.Due):
		d.Reason = fmt.Sprintf("monthly minor for %s: today is release day %d; %s follows %s",
			month, req.ReleaseDay, d.Tag, prev.Name)
	default:
		d.Reason = fmt.Sprintf("monthly minor for %s: due %s and not released yet (as of %s); %s follows %s",
			month, d.Due.Format(time.DateOnly), asOf.Format(time.DateOnly), d.Tag, prev.Name)
	}
	return finish(h, d)
}

func decidePatch(h history, req Request, d Decision) (Decision, error) {
	prev := h.latestFinal()
	if prev == nil {
		return Decision{}, errors.New("--patch: there is no release to patch yet; cut the first minor with `release cut`")
	}
	if r := h.atCommit(req.Head, true); r != nil {
		d.Kind = KindNone
		d.Reason = fmt.Sprintf("HEAD %s is already released as %s: commit the fix first, then cut the patch", short(req.Head), r.Name)
		return d, nil
	}
	next := prev.V.IncPatch()
	d.Kind = KindPatch
	d.Version, d.Tag = next.String(), TagName(&next)
	d.Reason = fmt.Sprintf("patch release on request: %s follows %s", d.Tag, prev.Name)
	return finish(h, d)
}

func decideMajor(h history, req Request, d Decision) (Decision, error) {
	major := nextMajor(h)
	rcs := h.rcsOf(major)
	if req.Final {
		if len(rcs) == 0 {
			return Decision{}, fmt.Errorf("--major --final: v%d.0.0 has no release candidate yet; cut one first with `release cut --major`", major)
		}
		last := rcs[len(rcs)-1]
		if r := h.atCommit(req.Head, true); r != nil {
			d.Kind = KindNone
			d.Reason = fmt.Sprintf("HEAD %s is already released as %s", short(req.Head), r.Name)
			return d, nil
		}
		v := semver.New(major, 0, 0, "", "")
		d.Kind = KindMajor
		d.Version, d.Tag = v.String(), TagName(v)
		d.Reason = fmt.Sprintf("major release on request: %s promotes %s", d.Tag, last.Name)
		if req.Head != "" && last.Commit != req.Head {
			d.Warnings = append(d.Warnings, fmt.Sprintf("HEAD %s is not the commit of %s (%s): the final major ships changes no release candidate carried",
				short(req.Head), last.Name, short(last.Commit)))
		}
		return finish(h, d)
	}
	if r := h.atCommit(req.Head, false); r != nil {
		d.Kind = KindNone
		d.Reason = fmt.Sprintf("HEAD %s is already tagged %s: commit something before the next release candidate", short(req.Head), r.Name)
		return d, nil
	}
	n := 1
	if len(rcs) > 0 {
		n = rcs[len(rcs)-1].RC + 1
	}
	v := semver.New(major, 0, 0, fmt.Sprintf("rc.%d", n), "")
	d.Kind = KindMajorRC
	d.Version, d.Tag = v.String(), TagName(v)
	if n == 1 {
		d.Reason = fmt.Sprintf("major on request: %s is the first release candidate of v%d.0.0", d.Tag, major)
	} else {
		d.Reason = fmt.Sprintf("major on request: %s follows %s", d.Tag, rcs[len(rcs)-1].Name)
	}
	return finish(h, d)
}

// nextMajor is the major after the latest final release (1 when none).
func nextMajor(h history) uint64 {
	if prev := h.latestFinal(); prev != nil {
		return prev.V.Major() + 1
	}
	return 1
}

// decideExplicit accepts a version only if the rules could have produced it.
func decideExplicit(h history, req Request, d Decision) (Decision, error) {
	v, rc, err := ParseTag(req.Version)
	if err != nil {
		if !strings.HasPrefix(req.Version, "v") {
			if _, _, err2 := ParseTag("v" + req.Version); err2 == nil {
				return Decision{}, fmt.Errorf("--version %s: write the tag form v%s", req.Version, req.Version)
			}
		}
		return Decision{}, fmt.Errorf("--version: %w", err)
	}
	tag := TagName(v)
	if t, ok := h.taken[tag]; ok {
		if req.Head != "" && t.Commit == req.Head {
			d.Kind = KindNone
			d.Version, d.Tag = v.String(), tag
			d.Reason = fmt.Sprintf("%s is already released at HEAD %s", tag, short(req.Head))
			return d, nil
		}
		return Decision{}, fmt.Errorf("--version %s: %w on commit %s; a release never reuses a tag, pick the next version (see `release plan`)",
			tag, ErrTagExists, short(t.Commit))
	}
	cands := candidates(h)
	for _, c := range cands {
		if c.tag != tag {
			continue
		}
		if (c.kind == KindMajor || c.kind == KindMajorRC) && !req.Major {
			return Decision{}, fmt.Errorf("--version %s is a major: majors need --major (and --final for the release itself)", tag)
		}
		if rc == 0 && c.kind == KindMajor && !req.Final {
			return Decision{}, fmt.Errorf("--version %s promotes a release candidate: add --final", tag)
		}
		if r := h.atCommit(req.Head, c.kind != KindMajorRC); r != nil {
			return Decision{}, fmt.Errorf("--version %s: HEAD %s is already released as %s; a commit is released once", tag, short(req.Head), r.Name)
		}
		d.Kind = c.kind
		d.Version, d.Tag = v.String(), tag
		d.Reason = "explicit --version: " + c.why
		if done := h.minorsSince(monthStart(d.Due)); c.kind == KindMinor && len(done) > 0 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s already has its minor (%s): this is a second minor in the month",
				d.Due.Format("2006-01"), done[len(done)-1].Name))
		}
		return d, nil
	}
	var allowed []string
	for _, c := range cands {
		allowed = append(allowed, c.tag)
	}
	return Decision{}, fmt.Errorf("--version %s does not follow the last release (allowed now: %s); versions never skip numbers",
		tag, strings.Join(allowed, ", "))
}

type candidate struct {
	kind Kind
	tag  string
	why  string
}

// candidates lists every version that may be released next.
func candidates(h history) []candidate {
	var out []candidate
	prev := h.latestFinal()
	if prev == nil {
		out = append(out, candidate{KindMinor, "v0.1.0", "the first release"})
	} else {
		next := prev.V.IncMinor()
		out = append(out, candidate{KindMinor, TagName(&next), "the minor after " + prev.Name})
	}
	// The next patch of every released line, so an older line can get a fix.
	seen := map[string]bool{}
	for i := len(h.releases) - 1; i >= 0; i-- {
		r := h.releases[i]
		key := fmt.Sprintf("%d.%d", r.V.Major(), r.V.Minor())
		if !r.final() || seen[key] {
			continue
		}
		seen[key] = true
		next := r.V.IncPatch()
		out = append(out, candidate{KindPatch, TagName(&next), "the patch after " + r.Name})
	}
	major := nextMajor(h)
	rcs := h.rcsOf(major)
	n := 1
	if len(rcs) > 0 {
		n = rcs[len(rcs)-1].RC + 1
		out = append(out, candidate{KindMajor, TagName(semver.New(major, 0, 0, "", "")), "promotes " + rcs[len(rcs)-1].Name})
	}
	out = append(out, candidate{KindMajorRC, TagName(semver.New(major, 0, 0, fmt.Sprintf("rc.%d", n), "")),
		fmt.Sprintf("release candidate %d of v%d.0.0", n, major)})
	return out
}

// finish guards the invariant once more at the end: whatever the rules
// computed must not be an existing tag (a stray tag outside our scheme, or
// a tag created by hand, can collide).
func finish(h history, d Decision) (Decision, error) {
	if t, ok := h.taken[d.Tag]; ok {
		return Decision{}, fmt.Errorf("next version %s: %w on commit %s (made outside `release cut`?); a release never reuses a tag: investigate, then pass --version",
			d.Tag, ErrTagExists, short(t.Commit))
	}
	return d, nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
