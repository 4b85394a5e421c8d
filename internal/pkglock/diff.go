package pkglock

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Change is one package that differs between two locks (or a lock and the mirror).
type Change struct {
	Arch string // the section
	Name string
	// Old and New are the versions; Old is empty for an added package, New for a
	// removed one. Equal versions with other bytes are a rebuild (Rebuilt).
	Old, New string
	Rebuilt  bool
}

func (c Change) String() string {
	switch {
	case c.Old == "":
		return fmt.Sprintf("%s: + %s %s", c.Arch, c.Name, c.New)
	case c.New == "":
		return fmt.Sprintf("%s: - %s %s", c.Arch, c.Name, c.Old)
	case c.Rebuilt:
		return fmt.Sprintf("%s: ~ %s %s (same version, other .deb)", c.Arch, c.Name, c.Old)
	}
	return fmt.Sprintf("%s: ~ %s %s -> %s", c.Arch, c.Name, c.Old, c.New)
}

// Diff lists what moved from old to new, section by section, added, removed and
// changed packages in name order. A section only one of them has counts all its
// packages as added or removed.
func Diff(old, new *Lock) []Change {
	var out []Change
	arches := map[string]bool{}
	for _, l := range []*Lock{old, new} {
		if l == nil {
			continue
		}
		for _, s := range l.Arches {
			arches[s.Arch] = true
		}
	}
	for _, a := range sortedKeys(arches) {
		out = append(out, diffSection(a, section(old, a), section(new, a))...)
	}
	return out
}

func section(l *Lock, arch string) *Section {
	if l == nil {
		return &Section{Arch: arch}
	}
	if s, ok := l.Section(arch); ok {
		return s
	}
	return &Section{Arch: arch}
}

func diffSection(arch string, old, new *Section) []Change {
	var out []Change
	i, j := 0, 0
	for i < len(old.Packages) || j < len(new.Packages) {
		switch {
		case j == len(new.Packages) || i < len(old.Packages) && key(old.Packages[i]) < key(new.Packages[j]):
			out = append(out, Change{Arch: arch, Name: old.Packages[i].Name, Old: old.Packages[i].Version})
			i++
		case i == len(old.Packages) || key(new.Packages[j]) < key(old.Packages[i]):
			out = append(out, Change{Arch: arch, Name: new.Packages[j].Name, New: new.Packages[j].Version})
			j++
		default:
			o, n := old.Packages[i], new.Packages[j]
			if o.Version != n.Version || o.SHA256 != n.SHA256 {
				out = append(out, Change{Arch: arch, Name: n.Name, Old: o.Version, New: n.Version, Rebuilt: o.Version == n.Version})
			}
			i, j = i+1, j+1
		}
	}
	return out
}

func key(e Entry) string { return e.Name + "\x00" + e.Arch }

// Resolved is the oldest Date of the lock's sections: when its packages were last
// what the mirror served.
func (l *Lock) Resolved() time.Time {
	var t time.Time
	for _, s := range l.Arches {
		if t.IsZero() || s.Date.Before(t) {
			t = s.Date
		}
	}
	return t
}

// Age is how long before asOf the lock was resolved, in whole days.
func (l *Lock) Age(asOf time.Time) int {
	d := asOf.Sub(l.Resolved())
	if d < 0 {
		return 0
	}
	return int(d / (24 * time.Hour))
}

// Summary counts changes by kind: "3 changed, 1 added, 0 removed".
func Summary(cs []Change) string {
	var changed, added, removed int
	for _, c := range cs {
		switch {
		case c.Old == "":
			added++
		case c.New == "":
			removed++
		default:
			changed++
		}
	}
	return fmt.Sprintf("%d changed, %d added, %d removed", changed, added, removed)
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
