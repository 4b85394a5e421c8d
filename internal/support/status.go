// Package support turns the targets of toolchain.yaml into the project's
// support promises: the generated docs/support-matrix.md with the list of
// targets nobody maintains, and the gate builds (and `release plan`) ask
// before building a target (deprecated warns, removed refuses, unmaintained
// warns).
package support

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
)

// Status is a target's support status as written in toolchain.yaml.
type Status string

// The statuses, from most to least supported. Their order is used when
// several targets share an artifact and one status has to speak for them.
const (
	Supported    Status = "supported"
	Experimental Status = "experimental"
	Deprecated   Status = "deprecated"
	Removed      Status = "removed"
)

// Statuses lists every valid status, most supported first.
func Statuses() []Status { return []Status{Supported, Experimental, Deprecated, Removed} }

// Rank orders statuses: 0 is the most supported; unknown statuses rank last.
func Rank(s Status) int {
	i := slices.Index(Statuses(), s)
	if i < 0 {
		return len(Statuses())
	}
	return i
}

// Meaning is the one-line promise each status makes, shown in the matrix.
func Meaning(s Status) string {
	switch s {
	case Supported:
		return "built and tested in CI on every change and release; a failure blocks the release"
	case Experimental:
		return "built and published, but a failure does not block the release"
	case Deprecated:
		return "still built, every build warns with the removal date; removed on that date"
	case Removed:
		return "no longer built: a build request for it is refused"
	}
	return "unknown status"
}

// dateLayout is how toolchain.yaml writes dates.
const dateLayout = "2006-01-02"

// Entry is one target with its status and dates parsed and checked.
type Entry struct {
	Target manifest.Target
	// Arch is the canonical architecture; the manifest may spell an alias.
	Arch            arch.Arch
	Status          Status
	DeprecatedSince time.Time // zero unless set
	RemovalDate     time.Time // zero unless set
}

// Name is "arch/variant", how targets are named in messages and tables.
func (e Entry) Name() string { return e.Arch.Name + "/" + e.Target.Variant }

// Maintained reports whether anybody is named as maintainer.
func (e Entry) Maintained() bool {
	for _, m := range e.Target.Maintainers {
		if strings.TrimSpace(m) != "" {
			return true
		}
	}
	return false
}

// Entries checks every target of tc and returns them sorted by the arch
// table's order, then variant, so generated output does not depend on the
// order targets happen to be written in. All problems are reported at once.
func Entries(tc *manifest.Toolchain) ([]Entry, error) {
	var (
		out  []Entry
		errs []string
	)
	for i, t := range tc.Targets {
		e, problems := entry(t)
		for _, p := range problems {
			errs = append(errs, fmt.Sprintf("%s: target #%d (%s/%s): %s", where(tc, t), i+1, t.Arch, t.Variant, p))
		}
		if len(problems) == 0 {
			out = append(out, e)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid targets in the manifest (fix them in toolchain.yaml):\n  %s", strings.Join(errs, "\n  "))
	}
	order := map[string]int{}
	for i, n := range arch.Names() {
		order[n] = i
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if d := order[a.Arch.Name] - order[b.Arch.Name]; d != 0 {
			return d
		}
		return compareVariants(a.Target.Variant, b.Target.Variant)
	})
	for i := 1; i < len(out); i++ {
		if out[i].Name() == out[i-1].Name() {
			return nil, fmt.Errorf("%s: target %s is listed twice in the manifest: merge the two entries", where(tc, out[i].Target), out[i].Name())
		}
	}
	return out, nil
}

// DefaultVariant is the variant every arch is expected to have; it leads its
// arch's rows so the matrix reads "the normal build, then the special ones".
const DefaultVariant = "default"

func compareVariants(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == DefaultVariant:
		return -1
	case b == DefaultVariant:
		return 1
	}
	return strings.Compare(a, b)
}

func entry(t manifest.Target) (Entry, []string) {
	var problems []string
	a, err := arch.Parse(t.Arch)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if strings.TrimSpace(t.Variant) == "" {
		problems = append(problems, "variant is empty: name the kernel config variant (e.g. default)")
	}
	e := Entry{Target: t, Arch: a, Status: Status(t.Status)}
	if Rank(e.Status) == len(Statuses()) {
		problems = append(problems, fmt.Sprintf("status %q is not one of %s", t.Status, statusList()))
	}
	parse := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		d, err := time.Parse(dateLayout, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q is not a date: write YYYY-MM-DD", field, v))
		}
		return d
	}
	e.DeprecatedSince = parse("deprecated_since", t.DeprecatedSince)
	e.RemovalDate = parse("removal_date", t.RemovalDate)
	switch e.Status {
	case Deprecated:
		if t.DeprecatedSince == "" || t.RemovalDate == "" {
			problems = append(problems, "a deprecated target needs deprecated_since and removal_date, so users know how long they have")
		}
	case Supported, Experimental:
		if t.DeprecatedSince != "" || t.RemovalDate != "" {
			problems = append(problems, fmt.Sprintf("deprecated_since/removal_date set on a %s target: set status: deprecated or drop the dates", e.Status))
		}
	}
	if !e.DeprecatedSince.IsZero() && !e.RemovalDate.IsZero() && !e.RemovalDate.After(e.DeprecatedSince) {
		problems = append(problems, fmt.Sprintf("removal_date %s is not after deprecated_since %s", t.RemovalDate, t.DeprecatedSince))
	}
	return e, problems
}

func statusList() string {
	var s []string
	for _, st := range Statuses() {
		s = append(s, string(st))
	}
	return strings.Join(s, ", ")
}

// where is "file:line:column" for a target, as far as the loader recorded it.
func where(tc *manifest.Toolchain, t manifest.Target) string {
	path := tc.Path
	if path == "" {
		path = "toolchain.yaml"
	}
	switch {
	case t.Line > 0 && t.Column > 0:
		return fmt.Sprintf("%s:%d:%d", path, t.Line, t.Column)
	case t.Line > 0:
		return fmt.Sprintf("%s:%d", path, t.Line)
	}
	return path
}
