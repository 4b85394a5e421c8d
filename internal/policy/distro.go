package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// The distro rule. Debian ships a major release about every two years and
// point releases of it in between; builds take whatever the suite holds, so
// N-<lag> counts majors (13 trixie, 12 bookworm, 11 bullseye), read from
// the mirror: stable is N, oldstable N-1, oldoldstable N-2.
//
//   - the pinned suite must be one of the lag+1 newest releases;
//   - one the mirror no longer serves as stable, oldstable or oldoldstable
//     is archived, so no build can fetch it: a violation whatever the lag;
//   - testing and unstable are not releases: a violation;
//   - an alias (stable, oldstable) passes with a warning, since it moves to
//     another release under the pin;
//   - the support-end dates of debian.csv are warnings once passed: after
//     eol only Debian LTS patches the suite, after eol-lts only paid ELTS.
func distroVerdict(d manifest.Distro, rels []DebianRelease, support []DebianSupport, lag int, day time.Time) (verdict, error) {
	v := verdict{status: StatusOK}
	if len(rels) == 0 {
		return v, fmt.Errorf("the debian feed lists no release: is it the mirror's dists/<suite>/Release?")
	}
	for i, r := range rels {
		if r.Major == 0 {
			return v, fmt.Errorf("the %s Release file (%s) has no Version: it is not a released suite; refresh the feed", r.Suite, r.Codename)
		}
		if i > 0 && r.Major >= rels[i-1].Major {
			return v, fmt.Errorf("the debian feed lists %s %s (%d) after %s %s (%d): releases must get older from stable on; refresh the feed",
				r.Suite, r.Codename, r.Major, rels[i-1].Suite, rels[i-1].Codename, rels[i-1].Major)
		}
	}
	allowed := rels[:min(lag+1, len(rels))]
	names := make([]string, len(allowed))
	for i, r := range allowed {
		names[i] = r.Codename
	}
	newest := rels[0]
	v.latest, v.floor, v.target = newest.Codename, allowed[len(allowed)-1].Codename, newest.Codename
	moveTo := fmt.Sprintf("move distro.suite to %s or add an exception with an expiry", newest.Codename)

	codename := d.Suite
	if i := slices.IndexFunc(rels, func(r DebianRelease) bool { return r.Suite == d.Suite }); i >= 0 {
		codename = rels[i].Codename
		v.warn("distro.suite %s is an alias that moves to the next release under the pin: write its codename, %s", d.Suite, codename)
	}
	sup, known := findSupport(support, codename)
	idx := slices.IndexFunc(rels, func(r DebianRelease) bool { return r.Codename == codename })
	if idx < 0 {
		switch {
		case known && !sup.Released(day):
			v.violate("debian %s is not released (it is testing or unstable): pin a released suite (%s) or add an exception with an expiry", codename, strings.Join(names, ", "))
		case known:
			v.violate("debian %s (%s) is older than oldoldstable: the mirror no longer serves it and N-%d allows %s: %s",
				codename, sup.Version, lag, strings.Join(names, ", "), moveTo)
		default:
			v.violate("debian %q is not a Debian release the mirror serves (%s) nor one %s knows: fix distro.suite", codename, strings.Join(names, ", "), DebianSupportFile)
		}
		return v, nil
	}
	r := rels[idx]
	switch {
	case idx > lag:
		v.violate("debian %s (%s) is %s, %s behind %s (%s) (N-%d allows %s): %s",
			codename, r.Version, r.Suite, plural(idx, "release"), newest.Codename, newest.Version, lag, strings.Join(names, ", "), moveTo)
		return v, nil // the move is the fix; its support dates add nothing
	case idx == 0:
		v.note("debian %s (%s) is stable, the newest release", codename, r.Version)
	default:
		v.note("debian %s (%s) is %s, %s behind %s (%s, stable, the newest), within N-%d (>= %s)",
			codename, r.Version, r.Suite, plural(idx, "release"), newest.Codename, newest.Version, lag, v.floor)
	}
	supportWarnings(&v, codename, sup, known, day, newest.Codename)
	return v, nil
}

func findSupport(support []DebianSupport, codename string) (DebianSupport, bool) {
	i := slices.IndexFunc(support, func(s DebianSupport) bool { return s.Series == codename })
	if i < 0 {
		return DebianSupport{}, false
	}
	return support[i], true
}

// supportWarnings says where the suite is in Debian's support cycle.
func supportWarnings(v *verdict, codename string, sup DebianSupport, known bool, day time.Time, newest string) {
	date := func(t time.Time) string { return t.Format(DateLayout) }
	past := func(t time.Time) bool { return !t.IsZero() && day.After(t) }
	switch {
	case !known:
		v.warn("%s has no row in %s, so its support dates are unknown: refresh the table (see distroinfo/SOURCE.md)", codename, DebianSupportFile)
	case past(sup.EOLLTS):
		elts := ""
		if !sup.EOLELTS.IsZero() {
			elts = " (until " + date(sup.EOLELTS) + ")"
		}
		v.warn("%s's Debian LTS ended on %s (%s): only commercial Extended LTS%s patches it; move to %s", codename, date(sup.EOLLTS), DebianSupportFile, elts, newest)
	case past(sup.EOL):
		lts := "Debian LTS covers part of it"
		if !sup.EOLLTS.IsZero() {
			lts += " until " + date(sup.EOLLTS)
		}
		v.warn("%s's regular security support ended on %s (%s): %s (fewer packages and architectures); plan the move to %s", codename, date(sup.EOL), DebianSupportFile, lts, newest)
	case !sup.EOL.IsZero():
		v.note("regular security support until %s (%s)", date(sup.EOL), DebianSupportFile)
	}
}

// distroMajor resolves a suite or codename to its major, from the feed or
// the support table, for exceptions (allow names the oldest suite kept).
func distroMajor(name string, rels []DebianRelease, support []DebianSupport) (int, bool) {
	for _, r := range rels {
		if r.Codename == name || r.Suite == name {
			return r.Major, true
		}
	}
	if s, ok := findSupport(support, name); ok && s.Major() > 0 {
		return s.Major(), true
	}
	return 0, false
}

// distroVerdict evaluates the manifest's suite, before any exception.
func (ev *evaluator) distroVerdict() (verdict, []DebianSupport, error) {
	d := ev.m.Distro
	if ev.f.Debian == nil {
		return verdict{}, nil, fmt.Errorf("%s:%d: distro.suite needs the debian feed, which was not loaded", ev.m.Path, d.Line)
	}
	support, err := debianSupport()
	if err != nil {
		return verdict{}, nil, err
	}
	v, err := distroVerdict(d, ev.f.Debian, support, ev.lag, ev.day)
	if err != nil {
		return verdict{}, nil, fmt.Errorf("%s:%d: %w", ev.m.Path, d.Line, err)
	}
	return v, support, nil
}

func (ev *evaluator) distroRow() (Row, error) {
	d := ev.m.Distro
	v, support, err := ev.distroVerdict()
	if err != nil {
		return Row{}, err
	}
	row := Row{Name: manifest.DistroName, Kind: KindDistro, Pinned: d.Suite, Latest: v.latest, Floor: v.floor, File: ev.m.Path, Line: d.Line}
	covers := func(allow string) bool {
		a, ok1 := distroMajor(allow, ev.f.Debian, support)
		p, ok2 := distroMajor(d.Suite, ev.f.Debian, support)
		return ok1 && ok2 && p >= a
	}
	row.Status, row.Why = ev.overlay(manifest.DistroName, v, covers, ev.m.Path, d.Line)
	return row, nil
}
