package pkglock

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
)

// Preview is what an update would change in one section, judged from the suite's
// current index without running mmdebstrap: locked packages the index now has at
// another version (or with other bytes), locked packages it no longer has, and
// dependencies of the changed packages that nothing locked satisfies. The exact set is
// only known from `release lock --update`, which resolves the closure as the build
// installs it.
type Preview struct {
	Arch string
	// Locked is the section's date, Current the index's.
	Locked, Current time.Time
	Origin          string
	Changes         []Change
	// NewDeps are dependencies of changed packages that no locked package satisfies:
	// an update adds a package for each, "libfoo2 (for bar 2.0-1)".
	NewDeps []string
}

// UpToDate reports whether an update would change nothing the index shows.
func (p Preview) UpToDate() bool { return len(p.Changes) == 0 && len(p.NewDeps) == 0 }

// Preview compares every section with the suite's index from src.
func (l *Lock) Preview(ctx context.Context, src debrepo.Source) ([]Preview, error) {
	var out []Preview
	for _, s := range l.Arches {
		suite, err := src.Suite(ctx, l.Suite, s.Arch)
		if err != nil {
			return nil, fmt.Errorf("%s: arch %s: %w", l.Path, s.Arch, err)
		}
		out = append(out, previewSection(s, suite))
	}
	return out, nil
}

func previewSection(s *Section, suite *debrepo.Suite) Preview {
	p := Preview{Arch: s.Arch, Locked: s.Date, Current: suite.Date, Origin: suite.Origin}
	locked := map[string]bool{}
	for _, e := range s.Packages {
		locked[e.Name] = true
	}
	provided := map[string]bool{}
	for _, e := range s.Packages {
		if cur, ok := suite.Index.Lookup(e.Name); ok {
			for _, v := range cur.Provides {
				provided[v] = true
			}
		}
	}
	for _, e := range s.Packages {
		cur, ok := suite.Index.Lookup(e.Name)
		switch {
		case !ok:
			p.Changes = append(p.Changes, Change{Arch: s.Arch, Name: e.Name, Old: e.Version})
			continue
		case cur.Version == e.Version && cur.SHA256 == e.SHA256:
			continue
		}
		p.Changes = append(p.Changes, Change{Arch: s.Arch, Name: e.Name, Old: e.Version, New: cur.Version, Rebuilt: cur.Version == e.Version})
		for _, alts := range cur.Depends {
			if slices.ContainsFunc(alts, func(a string) bool { return locked[a] || provided[a] }) {
				continue
			}
			dep := fmt.Sprintf("%s (for %s %s)", alts[0], cur.Name, cur.Version)
			if !slices.Contains(p.NewDeps, dep) {
				p.NewDeps = append(p.NewDeps, dep)
			}
		}
	}
	slices.Sort(p.NewDeps)
	return p
}
