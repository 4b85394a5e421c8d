// Package pkglock is the package lock of an image or builder: every Debian package
// its root filesystem holds, with the exact version, architecture, priority and the
// pool file (path, size, sha256) it was installed from, per architecture, with the
// Date of the signed InRelease it was resolved against.
//
// Why: two builds a month apart resolve against a mirror that moved on. A lock makes
// the set an input, committed next to the definition: builds install exactly it
// (internal/build makes a repository of only the locked .debs), caches are keyed by
// its digest, the SBOM is written from it, and `release lock --update` moves it, as
// a reviewed diff.
//
// The format is line-oriented so that a refresh reads as a diff of package lines:
//
//	lock 1
//	kind image
//	name default
//	suite bookworm
//	mirror http://deb.debian.org/debian
//	variant minbase
//	include ca-certificates iptables kmod
//
//	arch amd64
//	date 2026-11-08T09:12:45Z
//	pkg <name> <version> <arch> <priority> <size> <sha256> <pool filename>
package pkglock

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// FormatVersion is the lock format this package reads and writes.
const FormatVersion = 1

// Kind is what a lock is of.
type Kind string

// The kinds of lock.
const (
	// KindImage locks images/<name>.yaml: mmdebstrap of its variant and packages.
	KindImage Kind = "image"
	// KindBuilder locks builders.<name> of toolchain.yaml.
	KindBuilder Kind = "builder"
	// KindSeed locks the seed the builders are made in (internal/build/seed).
	KindSeed Kind = "seed"
)

// Lock is one lock file.
type Lock struct {
	// Path names the file in errors.
	Path    string
	Kind    Kind
	Name    string
	Suite   string
	Mirror  string
	Variant string // mmdebstrap's --variant; empty for the seed
	// Include is what the definition asks for on top of the variant, sorted.
	Include []string
	// Arches are sorted by Debian architecture.
	Arches []*Section
}

// Section is the packages of one architecture.
type Section struct {
	Arch string // Debian architecture: amd64, arm64, s390x, ppc64el
	// Date is the InRelease Date the section was resolved against.
	Date     time.Time
	Packages []Entry // sorted by name, then architecture
	Line     int
}

// Entry is one locked package.
type Entry struct {
	Name, Version string
	Arch          string // the package's own: the section's, or all
	Priority      string // the archive's, which mmdebstrap's variants select by
	Size          int64
	SHA256        string
	Filename      string // pool path relative to the mirror root
	Line          int
}

// String is "name version (arch)", how errors name a package.
func (e Entry) String() string { return fmt.Sprintf("%s %s (%s)", e.Name, e.Version, e.Arch) }

// Section returns the section of a Debian architecture.
func (l *Lock) Section(arch string) (*Section, bool) {
	for _, s := range l.Arches {
		if s.Arch == arch {
			return s, true
		}
	}
	return nil, false
}

// Put adds or replaces the section of s.Arch, keeping the order.
func (l *Lock) Put(s *Section) {
	sortEntries(s.Packages)
	for i, old := range l.Arches {
		if old.Arch == s.Arch {
			l.Arches[i] = s
			return
		}
	}
	l.Arches = append(l.Arches, s)
	slices.SortFunc(l.Arches, func(a, b *Section) int { return strings.Compare(a.Arch, b.Arch) })
}

// Lookup returns the entry of a package name.
func (s *Section) Lookup(name string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(s.Packages, name, func(e Entry, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return Entry{}, false
	}
	return s.Packages[i], true
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Arch, b.Arch)
	})
}

// Inputs are what a definition asks for: a lock answers them, and a lock whose
// inputs differ from the definition's is stale.
type Inputs struct {
	Kind          Kind
	Name          string
	Suite, Mirror string
	Variant       string
	Include       []string
	// Arches are the Debian architectures that must have a section.
	Arches []string
	// Definition is the file the inputs come from (images/default.yaml,
	// toolchain.yaml), for messages.
	Definition string
}

// Refresh is the command that re-resolves the lock of kind and name.
func Refresh(kind Kind, name string) string {
	if kind == KindImage {
		return "release lock --update --image " + name
	}
	return "release lock --update --builder " + name
}

// Normalize sorts and dedups the package names, so the order in a definition does
// not matter.
func Normalize(pkgs []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(pkgs)))
}

// The shapes of the fields: what dpkg and the archive allow, and nothing that could
// break a line or a path.
var (
	namePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]*$`)
	versionPattern  = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~:-]*$`)
	archPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	sha256Pattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	filenamePattern = regexp.MustCompile(`^pool/[A-Za-z0-9][A-Za-z0-9._+~%/-]*\.deb$`)
	// The mirror is written into hooks and sources.list lines: no quotes, spaces or $.
	mirrorPattern   = regexp.MustCompile(`^https?://[A-Za-z0-9._~:/%+@-]+$`)
	lockNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	priorities      = []string{"required", "important", "standard", "optional", "extra"}
	variants        = []string{"extract", "custom", "essential", "apt", "required", "minbase", "buildd", "important", "debootstrap", "standard"}
)
