package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	version "github.com/hashicorp/go-version"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/manifest"
)

// goSupportedMinors is how many of the newest Go minors upstream still
// patches (https://go.dev/doc/devel/release#policy). An N-2 Go pin passes the
// gate but gets no security fixes, so it warns.
const goSupportedMinors = 2

// DateLayout is the format of --as-of and exception dates.
const DateLayout = "2006-01-02"

// ParseAsOf reads an --as-of date (DateLayout); empty means today in UTC.
func ParseAsOf(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--as-of %q: write a date as YYYY-MM-DD", s)
	}
	return t, nil
}

// Check evaluates every pin of m and every direct dependency against the
// feeds, as of the given date (only its calendar day in UTC counts). It
// returns an error only when the inputs do not allow a verdict (a feed a
// pin needs is missing); policy failures are rows with StatusViolation.
func Check(m *manifest.Toolchain, deps []Dependency, f *Feeds, asOf time.Time) (*Report, error) {
	ev, err := newEvaluator(m, f, asOf)
	if err != nil {
		return nil, err
	}
	rep := &Report{Manifest: m.Path, AsOf: ev.day.Format(DateLayout), Lag: m.Policy.Lag}
	var errs []error
	add := func(row Row, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		rep.Rows = append(rep.Rows, row)
	}
	for _, p := range pinsByLine(m) {
		add(ev.pinRow(p))
	}
	add(ev.kernelRow())
	matched := map[string]bool{manifest.KernelName: true}
	if m.Firmware.Edk2.Feed == manifest.FeedEdk2 {
		add(ev.edk2Row())
		matched[manifest.Edk2Name] = true
	}
	if m.Distro.Feed == manifest.FeedDebian {
		add(ev.distroRow())
		matched[manifest.DistroName] = true
	}
	for name := range m.Toolchains {
		matched[name] = true
	}
	for _, d := range deps {
		matched[d.Path] = true
		add(ev.moduleRow(d))
	}
	for _, exc := range m.Policy.Exceptions {
		if !matched[exc.Name] {
			rep.Rows = append(rep.Rows, ev.orphanExceptionRow(exc))
		}
	}
	if err := boundedio.Errors(errs, maxErrors); err != nil {
		return nil, err
	}
	return rep, nil
}

// maxErrors caps the problems one run reports: a go.mod with hundreds of
// unreadable requirements gives a screenful and a count, not hundreds.
const maxErrors = 20

func pinsByLine(m *manifest.Toolchain) []manifest.Pin {
	pins := make([]manifest.Pin, 0, len(m.Toolchains))
	for name, p := range m.Toolchains {
		p.Name = name
		pins = append(pins, p)
	}
	slices.SortFunc(pins, func(a, b manifest.Pin) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name)) })
	return pins
}

// evaluator holds what every rule needs.
type evaluator struct {
	m    *manifest.Toolchain
	f    *Feeds
	day  time.Time // the date of evaluation, midnight UTC
	lag  int
	rust []*version.Version // released on or before day
	gov  []*version.Version // stable Go releases
}

func newEvaluator(m *manifest.Toolchain, f *Feeds, asOf time.Time) (*evaluator, error) {
	if m == nil || f == nil {
		return nil, fmt.Errorf("policy check needs a manifest and feeds")
	}
	y, mo, d := asOf.UTC().Date()
	ev := &evaluator{m: m, f: f, day: time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), lag: m.Policy.Lag}
	for _, r := range f.Go {
		if r.Stable {
			ev.gov = append(ev.gov, r.Version)
		}
	}
	for _, r := range f.Rust {
		// Master's RELEASES.md announces the next release before its date.
		if !r.Date.After(ev.day) {
			ev.rust = append(ev.rust, r.Version)
		}
	}
	return ev, nil
}

// verdict is what the rules say about one version of one pin, before any
// exception applies.
type verdict struct {
	status Status
	latest string
	floor  string
	why    []string
	// target is the version bump proposes ("" when the pin stays).
	target string
}

func (v *verdict) warn(format string, args ...any) {
	if v.status == StatusOK || v.status == "" {
		v.status = StatusWarn
	}
	v.why = append(v.why, fmt.Sprintf(format, args...))
}

func (v *verdict) violate(format string, args ...any) {
	v.status = StatusViolation
	v.why = append(v.why, fmt.Sprintf(format, args...))
}

func (v *verdict) note(format string, args ...any) {
	v.why = append(v.why, fmt.Sprintf(format, args...))
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// minorRule is N-<lag> over stable minor releases, shared by Go, Rust and
// modules: floor = the lag-th newest minor counting only minors that had a
// stable release (so it is "latest minor - lag" when none was skipped).
type minorRule[V comparable[V]] struct {
	ln        line[V]
	name      string
	prefix    string // "v" for modules, so floors read like their versions
	lag       int
	supported int  // newest minors upstream still patches; 0 = not checked
	exact     bool // the feed lists every release, so a pin must be one of them
	// fix says how to move the pin to version (a printf format with one %s).
	fix string
}

func (r minorRule[V]) eval(pinned V, releases []V) verdict {
	v := verdict{status: StatusOK}
	rels := slices.Clone(releases)
	slices.SortFunc(rels, func(a, b V) int { return b.Compare(a) })
	if len(rels) == 0 {
		v.warn("no stable release upstream to compare with; N-%d cannot be applied", r.lag)
		return v
	}
	latest := rels[0]
	var minors []minorKey
	for _, rel := range rels {
		if k := r.ln.minor(rel); len(minors) == 0 || minors[len(minors)-1] != k {
			minors = append(minors, k)
		}
	}
	floor := minors[min(r.lag, len(minors)-1)]
	v.latest = r.ln.show(latest)
	v.floor = r.prefix + floor.String()
	v.target = v.latest

	pk := r.ln.minor(pinned)
	shown := r.ln.show(pinned)
	found := slices.ContainsFunc(rels, func(x V) bool { return x.Compare(pinned) == 0 })
	if r.exact && !found && !r.ln.pre(pinned) {
		if pinned.Compare(latest) > 0 {
			v.violate("%s %s is newer than the newest release upstream (%s): fix the pin or refresh the feed", r.name, shown, v.latest)
		} else {
			v.violate("%s %s is not a release upstream: pin one that exists, e.g. %s", r.name, shown, v.latest)
		}
		return v
	}
	behind := 0
	for _, k := range minors {
		if k.compare(pk) > 0 {
			behind++
		}
	}
	latestMinor := r.prefix + minors[0].String()
	pinMinor := r.prefix + pk.String()
	if pk.compare(floor) < 0 {
		v.violate("%s %s is %s behind %s (N-%d allows >= %s); %s or add an exception with an expiry",
			r.name, pinMinor, plural(behind, "release"), latestMinor, r.lag, v.floor, fmt.Sprintf(r.fix, v.latest))
		return v
	}
	switch {
	case pinned.Compare(latest) == 0:
		v.note("%s %s is the latest release", r.name, shown)
	case pinned.Compare(latest) > 0:
		v.note("%s %s is ahead of the latest release %s", r.name, shown, v.latest)
	case behind == 0:
		v.note("%s %s is on the latest minor %s", r.name, shown, latestMinor)
	default:
		v.note("%s %s is %s behind %s, within N-%d (>= %s)", r.name, pinMinor, plural(behind, "release"), latestMinor, r.lag, v.floor)
	}
	if r.ln.pre(pinned) && r.exact { // pseudo-versions (not exact) get their own advice
		v.warn("%s is a pre-release: pin a stable release", shown)
	}
	for _, rel := range rels {
		if r.ln.minor(rel) == pk {
			if rel.Compare(pinned) > 0 {
				v.warn("%s is out with fixes for %s: %s", r.ln.show(rel), pinMinor, fmt.Sprintf(r.fix, r.ln.show(rel)))
			}
			break
		}
	}
	if r.supported > 0 && behind >= r.supported {
		kept := make([]string, 0, r.supported)
		for _, k := range minors[:min(r.supported, len(minors))] {
			kept = append(kept, r.prefix+k.String())
		}
		v.warn("%s %s no longer gets security fixes upstream (only %s do): bump to %s", r.name, pinMinor, strings.Join(kept, " and "), v.latest)
	}
	return v
}

// toolchainVerdict evaluates a toolchains: pin at version ver.
func (ev *evaluator) toolchainVerdict(p manifest.Pin, ver string) (verdict, error) {
	pinned, err := ParseToolchainVersion(ver)
	if err != nil {
		return verdict{}, fmt.Errorf("%s:%d: %w", ev.m.Path, p.Line, err)
	}
	rule := minorRule[*version.Version]{ln: toolchainLine, name: p.Name, lag: ev.lag, exact: true,
		fix: "bump it to %s (release policy bump --write)"}
	switch p.Feed {
	case manifest.FeedGo:
		if ev.f.Go == nil {
			return verdict{}, fmt.Errorf("%s:%d: %s needs the go feed, which was not loaded", ev.m.Path, p.Line, p.Name)
		}
		rule.supported = goSupportedMinors
		if len(ev.gov) == 0 {
			return verdict{}, ev.noStableRelease(p, "go.dev/dl JSON", "")
		}
		return rule.eval(pinned, ev.gov), nil
	case manifest.FeedRust:
		if ev.f.Rust == nil {
			return verdict{}, fmt.Errorf("%s:%d: %s needs the rust feed, which was not loaded", ev.m.Path, p.Line, p.Name)
		}
		if len(ev.rust) == 0 {
			return verdict{}, ev.noStableRelease(p, "RELEASES.md", " dated on or before "+ev.day.Format(time.DateOnly))
		}
		return rule.eval(pinned, ev.rust), nil
	}
	return verdict{}, fmt.Errorf("%s:%d: %s: no rule for feed %q", ev.m.Path, p.Line, p.Name, p.Feed)
}

// noStableRelease is the error for a toolchain feed with nothing to compare
// with: passing the pin then would let an empty or truncated feed (or one
// holding only release candidates) wave any version through.
func (ev *evaluator) noStableRelease(p manifest.Pin, doc, when string) error {
	return fmt.Errorf("%s:%d: %s: the %s feed (%s) lists no stable release%s, so N-%d cannot be checked: it is truncated or not the upstream feed; refresh it (release policy snapshot --out DIR) and check again",
		ev.m.Path, p.Line, p.Name, p.Feed, doc, when, ev.lag)
}

func (ev *evaluator) pinRow(p manifest.Pin) (Row, error) {
	v, err := ev.toolchainVerdict(p, p.Version)
	if err != nil {
		return Row{}, err
	}
	row := Row{Name: p.Name, Kind: p.Feed, Pinned: p.Version, Latest: v.latest, Floor: v.floor, File: ev.m.Path, Line: p.Line}
	covers := func(allow string) bool {
		a, err1 := ParseToolchainVersion(allow)
		pv, err2 := ParseToolchainVersion(p.Version)
		return err1 == nil && err2 == nil && pv.Compare(a) >= 0
	}
	row.Status, row.Why = ev.overlay(p.Name, v, covers, ev.m.Path, p.Line)
	return row, nil
}

func (ev *evaluator) kernelRow() (Row, error) {
	k := ev.m.Kernel
	if ev.f.Kernel == nil {
		return Row{}, fmt.Errorf("%s:%d: the kernel needs the kernel feed, which was not loaded", ev.m.Path, k.Line)
	}
	v, err := kernelVerdict(k.Version, ev.f.Kernel, ev.lag)
	if err != nil {
		return Row{}, fmt.Errorf("%s:%d: %w", ev.m.Path, k.Line, err)
	}
	row := Row{Name: manifest.KernelName, Kind: KindKernel, Pinned: k.Version, Latest: v.latest, Floor: v.floor, File: ev.m.Path, Line: k.Line}
	covers := func(allow string) bool {
		a, err1 := ParseToolchainVersion(allow)
		pv, err2 := ParseToolchainVersion(k.Version)
		return err1 == nil && err2 == nil && pv.Compare(a) >= 0
	}
	row.Status, row.Why = ev.overlay(manifest.KernelName, v, covers, ev.m.Path, k.Line)
	return row, nil
}

// moduleVerdict evaluates a go.mod requirement at version ver.
func (ev *evaluator) moduleVerdict(d Dependency, ver string) (verdict, error) {
	list, ok := ev.f.Modules[d.Path]
	if !ok {
		return verdict{}, fmt.Errorf("%s:%d: %s needs its module version list, which was not loaded", d.File, d.Line, d.Path)
	}
	pinned, err := ParseModuleVersion(ver)
	if err != nil {
		return verdict{}, fmt.Errorf("%s:%d: %w", d.File, d.Line, err)
	}
	var rels []*semver.Version
	for _, v := range list {
		// Pre-releases and pseudo-versions never count; majors are separate
		// modules (or, for v0/v1, separate promises).
		if v.Prerelease() == "" && v.Major() == pinned.Major() {
			rels = append(rels, v)
		}
	}
	rule := minorRule[*semver.Version]{ln: moduleLine, name: d.Path, prefix: "v", lag: ev.lag, exact: true,
		fix: "run go get " + d.Path + "@%s"}
	newest := ""
	if len(rels) > 0 {
		newest = slices.MaxFunc(rels, func(a, b *semver.Version) int { return a.Compare(b) }).Original()
	}
	if IsPseudoVersion(pinned) {
		rule.exact = false
	}
	v := rule.eval(pinned, rels)
	if IsPseudoVersion(pinned) && v.status != StatusViolation && newest != "" {
		v.warn("%s is an untagged commit (pseudo-version): pin a release with go get %s@%s", ver, d.Path, newest)
	}
	majorRule(&v, d.Path, ev.f.Majors[d.Path], ev.lag)
	return v, nil
}

// majorRule is N-<lag> over majors: a newer major is another module path
// (cosign/v2 -> cosign/v3), invisible to the version list of the pinned
// one. Majors count only when they have a stable release. Trailing by one
// or more warns, since moving changes imports and APIs; more than lag is a
// violation.
func majorRule(v *verdict, path string, majors []ModuleMajor, lag int) {
	type shipped struct {
		path   string
		newest string
	}
	var found []shipped
	for _, mm := range majors {
		var best string
		var bestV *semver.Version
		for _, x := range mm.Versions {
			if x.Prerelease() == "" && x.Major() == mm.Major && (bestV == nil || x.Compare(bestV) > 0) {
				best, bestV = x.Original(), x
			}
		}
		if bestV != nil {
			found = append(found, shipped{mm.Path, best})
		}
	}
	if len(found) == 0 {
		return
	}
	top := found[len(found)-1]
	if len(found) > lag {
		v.violate("%s is %s behind its newest major %s %s (N-%d allows trailing by at most %s): move to it (a new import path) or add an exception with an expiry",
			path, plural(len(found), "major"), top.path, top.newest, lag, plural(lag, "major"))
		return
	}
	v.warn("newer major available: %s %s (a new import path: imports and APIs change, so go get alone does not move to it)", top.path, top.newest)
}

func (ev *evaluator) moduleRow(d Dependency) (Row, error) {
	v, err := ev.moduleVerdict(d, d.Version)
	if err != nil {
		return Row{}, err
	}
	row := Row{Name: d.Path, Kind: KindModule, Pinned: d.Version, Latest: v.latest, Floor: v.floor, File: d.File, Line: d.Line}
	covers := func(allow string) bool {
		a, err1 := ParseModuleVersion(allow)
		pv, err2 := ParseModuleVersion(d.Version)
		return err1 == nil && err2 == nil && pv.Compare(a) >= 0
	}
	// Module rows point at go.mod, where the requirement is written.
	row.Status, row.Why = ev.overlay(d.Path, v, covers, d.File, d.Line)
	return row, nil
}

// overlay applies the pin's exception, if any, to a verdict and renders the
// row's why, starting with the file:line where the pin is written.
func (ev *evaluator) overlay(name string, v verdict, covers func(allow string) bool, file string, line int) (Status, string) {
	status, why := v.status, slices.Clone(v.why)
	if exc, ok := ev.m.Policy.Exception(name); ok {
		status, why = ev.applyException(exc, status, why, covers)
	}
	return status, fmt.Sprintf("%s:%d: %s", file, line, strings.Join(why, "; "))
}

func (ev *evaluator) applyException(exc manifest.Exception, status Status, why []string, covers func(string) bool) (Status, []string) {
	at := fmt.Sprintf("%s:%d", ev.m.Path, exc.Line)
	until, err := time.Parse(DateLayout, exc.Until)
	if err != nil { // the loader validated it; stay safe anyway
		return StatusViolation, append(why, fmt.Sprintf("the exception at %s has an unreadable until %q", at, exc.Until))
	}
	switch {
	case ev.day.After(until):
		return StatusViolation, append(why, fmt.Sprintf("the exception at %s expired on %s: bump %s and remove the exception, or renew it with a new until and reason",
			at, exc.Until, exc.Name))
	case status == StatusViolation && covers(exc.Allow):
		days := int(until.Sub(ev.day).Hours()/24) + 1
		return StatusExcepted, append(why, fmt.Sprintf("excepted by %s until %s (%s left): %s", at, exc.Until, plural(days, "day"), exc.Reason))
	case status == StatusViolation:
		return StatusViolation, append(why, fmt.Sprintf("the exception at %s allows %s >= %s only", at, exc.Name, exc.Allow))
	default:
		if status == StatusOK {
			status = StatusWarn
		}
		return status, append(why, fmt.Sprintf("the exception at %s is no longer needed: remove it", at))
	}
}

// orphanExceptionRow reports an exception for a module that go.mod does not
// require directly.
func (ev *evaluator) orphanExceptionRow(exc manifest.Exception) Row {
	row := Row{Name: exc.Name, Kind: KindException, Pinned: exc.Allow, File: ev.m.Path, Line: exc.Line, Status: StatusWarn}
	row.Why = fmt.Sprintf("%s:%d: the exception names %s, which is not a direct dependency in go.mod: remove it", ev.m.Path, exc.Line, exc.Name)
	if exc.Name == manifest.DistroName {
		row.Why = fmt.Sprintf("%s:%d: the exception names distro, but the suite is not gated (distro has no feed: debian): add the feed or remove the exception", ev.m.Path, exc.Line)
	}
	if until, err := time.Parse(DateLayout, exc.Until); err == nil && ev.day.After(until) {
		row.Status = StatusViolation
		row.Why += fmt.Sprintf(" (it also expired on %s)", exc.Until)
	}
	return row
}
