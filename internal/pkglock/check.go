package pkglock

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// StaleError is a lock that no longer answers its definition: it names what differs
// and the command that resolves it again.
type StaleError struct {
	Path       string
	Definition string
	Diffs      []string
	Refresh    string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s is stale for %s: %s; run `%s` (then review and commit the lock)",
		e.Path, e.Definition, strings.Join(e.Diffs, "; "), e.Refresh)
}

// Check reports whether l answers in: the same kind, name, suite, mirror, variant and
// packages, and a section for every architecture in.Arches. A lock that does not is a
// *StaleError.
func (l *Lock) Check(in Inputs) error {
	var diffs []string
	differ := func(what, lock, want string) {
		if lock != want {
			diffs = append(diffs, fmt.Sprintf("%s is %q in the lock, %q in %s", what, lock, want, in.Definition))
		}
	}
	differ("kind", string(l.Kind), string(in.Kind))
	differ("name", l.Name, in.Name)
	differ("suite", l.Suite, in.Suite)
	differ("mirror", l.Mirror, in.Mirror)
	differ("variant", l.Variant, in.Variant)
	if want := Normalize(in.Include); !slices.Equal(l.Include, want) {
		var added, dropped []string
		for _, n := range want {
			if !slices.Contains(l.Include, n) {
				added = append(added, n)
			}
		}
		for _, n := range l.Include {
			if !slices.Contains(want, n) {
				dropped = append(dropped, n)
			}
		}
		d := "the packages asked for changed:"
		if len(added) > 0 {
			d += " added " + strings.Join(added, " ")
		}
		if len(dropped) > 0 {
			d += " removed " + strings.Join(dropped, " ")
		}
		diffs = append(diffs, d)
	}
	for _, a := range in.Arches {
		if _, ok := l.Section(a); !ok {
			diffs = append(diffs, "no section for arch "+a)
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return &StaleError{Path: l.Path, Definition: in.Definition, Diffs: diffs, Refresh: Refresh(in.Kind, in.Name)}
}

// EntryError is a package whose .deb does not match its lock entry.
type EntryError struct {
	Lock    string // the lock file
	Entry   Entry
	Problem string
	Refresh string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("%s:%d: package %s: %s; if the mirror moved on, run `%s`, review the diff and commit",
		e.Lock, e.Entry.Line, e.Entry, e.Problem, e.Refresh)
}

// VerifyDeb checks the .deb at path against e: its size, its sha256, and that its
// control file names the same package, version and architecture. It returns the
// control file, from which a repository's index is written.
func (l *Lock) VerifyDeb(e Entry, path string) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return &EntryError{Lock: l.Path, Entry: e, Problem: fmt.Sprintf(format, args...), Refresh: Refresh(l.Kind, l.Name)}
	}
	sum, size, err := sha256sum.File(path)
	if err != nil {
		return nil, err
	}
	if size != e.Size || sum != e.SHA256 {
		return nil, bad("the .deb is %d bytes with sha256 %s, the lock says %d bytes with sha256 %s", size, sum, e.Size, e.SHA256)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	// Control reads the ar archive up to its control member and that member up to a
	// bound of its own.
	ctl, err := debrepo.Control(fh, e.Filename)
	if err != nil {
		return nil, bad("%v", err)
	}
	for _, f := range [][2]string{{"Package", e.Name}, {"Version", e.Version}, {"Architecture", e.Arch}} {
		if got := debrepo.ControlField(ctl, f[0]); got != f[1] {
			return nil, bad("its control file says %s %q", f[0], got)
		}
	}
	return ctl, nil
}

// Installed is a package as dpkg's status lists it.
type Installed struct{ Name, Version, Arch string }

// CheckInstalled compares what a built root filesystem's dpkg status lists with the
// section: the same packages at the same versions, nothing more, nothing less. what
// names the built thing (image default for amd64) in the error.
func (l *Lock) CheckInstalled(s *Section, installed []Installed, what string) error {
	have := map[string]Installed{}
	for _, p := range installed {
		have[p.Name+":"+p.Arch] = p
	}
	var diffs []string
	for _, e := range s.Packages {
		p, ok := have[e.Name+":"+e.Arch]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s is locked (line %d) but not installed", e, e.Line))
		case p.Version != e.Version:
			diffs = append(diffs, fmt.Sprintf("%s is installed at %s, locked at %s (line %d)", e.Name, p.Version, e.Version, e.Line))
		}
		delete(have, e.Name+":"+e.Arch)
	}
	extra := make([]string, 0, len(have))
	for _, p := range have {
		extra = append(extra, fmt.Sprintf("%s %s (%s) is installed but not locked", p.Name, p.Version, p.Arch))
	}
	slices.Sort(extra)
	diffs = append(diffs, extra...)
	if len(diffs) == 0 {
		return nil
	}
	const show = 10
	more := ""
	if len(diffs) > show {
		more = fmt.Sprintf("; and %d more", len(diffs)-show)
		diffs = diffs[:show]
	}
	return fmt.Errorf("%s does not hold what %s locks for %s: %s%s; run `%s`, review the diff and commit",
		what, l.Path, s.Arch, strings.Join(diffs, "; "), more, Refresh(l.Kind, l.Name))
}
