package support

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
)

// ErrRemoved is returned by Gate for a target that must no longer be built:
// status removed, or deprecated past its removal date.
var ErrRemoved = errors.New("target removed")

// ErrUnknownTarget is returned by Gate for an arch/variant the manifest does not list.
var ErrUnknownTarget = errors.New("unknown target")

// Decision is what Gate allows, with the warnings a build must show.
type Decision struct {
	Entry Entry
	// Warnings are printed by the build but do not stop it: deprecation with
	// the removal date, or nobody maintaining the target.
	Warnings []string
}

// Log writes the warnings through l, one record each, so they show up in
// build logs and CI annotations next to the step that built the target.
func (d Decision) Log(l *slog.Logger) {
	for _, w := range d.Warnings {
		l.Warn(w, "target", d.Entry.Name(), "status", string(d.Entry.Status))
	}
}

// Gate decides whether the target archName/variant may be built on asOf (a
// date passed in, never the clock, so the decision is reproducible).
// Deprecated targets are built with a warning naming the removal date; once
// that date has come, or when the status is removed, Gate refuses with
// ErrRemoved. Unmaintained targets are built with a warning.
func Gate(tc *manifest.Toolchain, archName, variant string, asOf time.Time) (Decision, error) {
	entries, err := Entries(tc)
	if err != nil {
		return Decision{}, err
	}
	a, err := arch.Parse(archName)
	if err != nil {
		return Decision{}, fmt.Errorf("build target %s/%s: %w", archName, variant, err)
	}
	var names []string
	for _, e := range entries {
		if e.Arch.Name == a.Name && e.Target.Variant == variant {
			return decide(tc, e, asOf)
		}
		names = append(names, e.Name())
	}
	return Decision{}, fmt.Errorf("%w %s/%s: %s lists %s; add the target there or build one of those",
		ErrUnknownTarget, a.Name, variant, pathOf(tc), strings.Join(names, ", "))
}

func decide(tc *manifest.Toolchain, e Entry, asOf time.Time) (Decision, error) {
	d := Decision{Entry: e}
	day := asOf.UTC().Truncate(24 * time.Hour)
	switch e.Status {
	case Removed:
		since := ""
		if !e.RemovalDate.IsZero() {
			since = " on " + e.RemovalDate.Format(dateLayout)
		}
		return d, fmt.Errorf("%w: %s was removed%s (%s): it is no longer built; use a supported target or restore it in toolchain.yaml with a maintainer",
			ErrRemoved, e.Name(), since, where(tc, e.Target))
	case Deprecated:
		if !day.Before(e.RemovalDate) {
			return d, fmt.Errorf("%w: %s reached its removal date %s (%s): set status: removed, or move removal_date if the deprecation was extended",
				ErrRemoved, e.Name(), e.RemovalDate.Format(dateLayout), where(tc, e.Target))
		}
		days := int(e.RemovalDate.Sub(day).Hours() / 24)
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s is deprecated since %s and will be removed on %s (in %d days): move to a supported target",
			e.Name(), e.DeprecatedSince.Format(dateLayout), e.RemovalDate.Format(dateLayout), days))
	}
	if !e.Maintained() {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s has no maintainer: add one to maintainers in %s or deprecate the target",
			e.Name(), where(tc, e.Target)))
	}
	return d, nil
}

// Unmaintained returns the targets that list no maintainer, in matrix order:
// the support matrix's "Targets without a maintainer". Removed targets are left
// out: nobody needs to maintain what is no longer built.
func Unmaintained(tc *manifest.Toolchain) ([]Entry, error) {
	entries, err := Entries(tc)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		if !e.Maintained() && e.Status != Removed {
			out = append(out, e)
		}
	}
	return out, nil
}

func pathOf(tc *manifest.Toolchain) string {
	if tc.Path == "" {
		return "toolchain.yaml"
	}
	return tc.Path
}
