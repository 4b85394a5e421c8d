// Package policy evaluates the pins in toolchain.yaml (toolchains, kernel,
// the Debian suite) and the direct dependencies in go.mod against upstream
// release data, read in upstream's own formats (go.dev/dl JSON,
// rust-lang/rust RELEASES.md, kernel.org releases.json, the Debian mirror's
// dists/<suite>/Release files, Go module proxy version lists, including
// those of newer majors under /vN). It is pure: the feeds and the date of
// evaluation are inputs, and nothing here reads the clock.
package policy

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	version "github.com/hashicorp/go-version"
)

// Toolchain and kernel versions use hashicorp/go-version: it takes Go's
// "go1.27rc1" (pre-release rc1, via the "go" prefix option), the kernel's
// "6.12" and "7.4-rc3", and pads segments so go1.26.0 == 1.26.0 == 1.26.
// Module versions use Masterminds/semver: they are strict semver with a v
// prefix, pseudo-versions and +incompatible, which it models exactly.

// ParseToolchainVersion parses a Go, Rust or kernel release as upstream
// writes it: "1.26.8", "go1.26.8", "go1.27rc1", "6.12.117", "7.4-rc3", "v6.12.47".
func ParseToolchainVersion(s string) (*version.Version, error) {
	var opts []version.Option
	if strings.HasPrefix(s, "go") {
		opts = append(opts, version.WithPrefix("go"))
	}
	v, err := version.NewVersion(s, opts...)
	if err != nil {
		return nil, fmt.Errorf("%q is not a version: %w", s, err)
	}
	return v, nil
}

// ParseModuleVersion parses a Go module version ("v1.10.2", "v2.0.0+incompatible",
// pseudo-versions).
func ParseModuleVersion(s string) (*semver.Version, error) {
	if !strings.HasPrefix(s, "v") {
		return nil, fmt.Errorf("%q is not a module version: module versions start with v", s)
	}
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a module version: %w", s, err)
	}
	return v, nil
}

// minorKey is a release line: MAJOR.MINOR. N-2 counts these.
type minorKey struct{ major, minor int64 }

func (k minorKey) String() string { return fmt.Sprintf("%d.%d", k.major, k.minor) }

func (k minorKey) compare(o minorKey) int {
	switch {
	case k.major != o.major:
		return cmpInt(k.major, o.major)
	default:
		return cmpInt(k.minor, o.minor)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// comparable is what both version libraries offer.
type comparable[V any] interface {
	Compare(V) int
}

// line describes how one kind of version is grouped and printed.
type line[V comparable[V]] struct {
	minor func(V) minorKey
	patch func(V) int64
	show  func(V) string
	pre   func(V) bool
}

var toolchainLine = line[*version.Version]{
	minor: func(v *version.Version) minorKey {
		s := v.Segments64()
		return minorKey{s[0], s[1]}
	},
	patch: func(v *version.Version) int64 { return v.Segments64()[2] },
	// As upstream writes it, without Go's "go" prefix: kernel.org's "6.12"
	// stays "6.12", not "6.12.0".
	show: func(v *version.Version) string {
		return strings.TrimPrefix(strings.TrimPrefix(v.Original(), "go"), "v")
	},
	pre: func(v *version.Version) bool { return v.Prerelease() != "" },
}

var moduleLine = line[*semver.Version]{
	minor: func(v *semver.Version) minorKey { return minorKey{int64(v.Major()), int64(v.Minor())} },
	patch: func(v *semver.Version) int64 { return int64(v.Patch()) },
	show:  func(v *semver.Version) string { return v.Original() },
	pre:   func(v *semver.Version) bool { return v.Prerelease() != "" },
}

// IsPseudoVersion reports whether a module version is a pseudo-version
// (an untagged commit), which has no place in N-2 counting.
func IsPseudoVersion(v *semver.Version) bool {
	pre := v.Prerelease()
	// vX.Y.Z-yyyymmddhhmmss-abcdef123456 or vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456
	parts := strings.Split(pre, "-")
	if len(parts) < 2 {
		return false
	}
	ts := parts[len(parts)-2]
	if i := strings.LastIndexByte(ts, '.'); i >= 0 {
		ts = ts[i+1:]
	}
	return len(ts) == 14 && strings.Trim(ts, "0123456789") == "" && len(parts[len(parts)-1]) == 12
}
