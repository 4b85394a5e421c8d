package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"time"

	version "github.com/hashicorp/go-version"
)

// RustRelease is one "Version X.Y.Z (YYYY-MM-DD)" heading of rust-lang/rust's
// RELEASES.md, the stable channel's history with release dates.
type RustRelease struct {
	Raw     string
	Version *version.Version
	Date    time.Time
}

// rustHeading matches a stable release heading. Headings of the pre-1.0 era
// ("Version 1.0.0-alpha (2015-01-09)", "Version 0.12.0 ...") do not match or
// are pre-releases, and the line under a heading is only "=" characters.
var rustHeading = regexp.MustCompile(`^Version ([0-9]+\.[0-9]+\.[0-9]+) \(([0-9]{4}-[0-9]{2}-[0-9]{2})\)\s*$`)

// ParseRustReleases reads RELEASES.md. Master's copy carries the notes of
// the next release a few weeks before it ships, dated in the future; callers
// drop releases dated after the date of evaluation.
func ParseRustReleases(data []byte) ([]RustRelease, error) {
	var out []RustRelease
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	seen := map[string]int{}
	for sc.Scan() {
		n++
		m := rustHeading.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := ParseToolchainVersion(m[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		d, err := time.Parse("2006-01-02", m[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: release date %q: %w", n, m[2], err)
		}
		if first, dup := seen[m[1]]; dup {
			return nil, fmt.Errorf("line %d: Version %s appears twice (first at line %d)", n, m[1], first)
		}
		seen[m[1]] = n
		out = append(out, RustRelease{Raw: m[1], Version: v, Date: d})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read RELEASES.md: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no \"Version X.Y.Z (YYYY-MM-DD)\" headings: not rust-lang/rust RELEASES.md")
	}
	return out, nil
}
