package policy

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// debianCSV is distro-info-data's debian.csv, reviewed and committed
// (distroinfo/SOURCE.md says where it came from). Support-end dates are
// Debian's decisions, so they live in Debian's own table, not in Go.
//
//go:embed distroinfo/debian.csv
var debianCSV []byte

// DebianSupportFile names the table in messages.
const DebianSupportFile = "internal/policy/distroinfo/debian.csv"

// DebianSupport is one row of debian.csv. A zero date is not known (yet).
type DebianSupport struct {
	Version string // "12"; "" for sid and experimental
	Series  string // the codename, lowercase: "bookworm"
	Release time.Time
	// EOL ends regular security support, EOLLTS Debian LTS, EOLELTS the
	// commercial Extended LTS.
	EOL, EOLLTS, EOLELTS time.Time
}

// Released reports whether the release had shipped by day.
func (s DebianSupport) Released(day time.Time) bool {
	return !s.Release.IsZero() && !s.Release.After(day)
}

// Major is the first number of Version, 0 when there is none.
func (s DebianSupport) Major() int {
	major, _, _ := strings.Cut(s.Version, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// maxSupportBytes bounds the table: upstream's is about 1 KiB.
const maxSupportBytes = 256 << 10

var debianCSVHeader = []string{"version", "codename", "series", "created", "release", "eol", "eol-lts", "eol-elts"}

// ParseDebianSupport reads debian.csv. Trailing columns may be missing, as
// upstream leaves them off for releases without those dates.
func ParseDebianSupport(data []byte) ([]DebianSupport, error) {
	if len(data) > maxSupportBytes {
		return nil, fmt.Errorf("a debian.csv of %d bytes is over the %d KiB limit: not distro-info-data's table", len(data), maxSupportBytes>>10)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil || !slices.Equal(head, debianCSVHeader) {
		return nil, fmt.Errorf("line 1: want the header %s: not distro-info-data's debian.csv", strings.Join(debianCSVHeader, ","))
	}
	var out []DebianSupport
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // a csv.ParseError names its line itself
			return nil, fmt.Errorf("not distro-info-data's debian.csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) < 4 || len(rec) > len(debianCSVHeader) {
			return nil, fmt.Errorf("line %d: %d columns, want 4 to %d (%s)", line, len(rec), len(debianCSVHeader), strings.Join(debianCSVHeader, ","))
		}
		s := DebianSupport{Version: rec[0], Series: rec[2]}
		if !debianNameOK(s.Series) {
			return nil, fmt.Errorf("line %d: series %q is not a Debian codename", line, clip(s.Series))
		}
		if first, dup := seen[s.Series]; dup {
			return nil, fmt.Errorf("line %d: %s appears twice (first at line %d)", line, s.Series, first)
		}
		seen[s.Series] = line
		if s.Version != "" && strings.Trim(s.Version, "0123456789.") != "" {
			return nil, fmt.Errorf("line %d: version %q is not a Debian release number", line, clip(s.Version))
		}
		dates := []*time.Time{nil, nil, nil, nil, &s.Release, &s.EOL, &s.EOLLTS, &s.EOLELTS}
		for i := 3; i < len(rec); i++ {
			d, err := time.Parse(DateLayout, rec[i])
			if err != nil {
				return nil, fmt.Errorf("line %d: %s %q is not a date (YYYY-MM-DD)", line, debianCSVHeader[i], clip(rec[i]))
			}
			if dates[i] != nil {
				*dates[i] = d
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("debian.csv lists no release")
	}
	return out, nil
}

// debianSupport is the committed table; a broken one fails the tests.
func debianSupport() ([]DebianSupport, error) {
	s, err := ParseDebianSupport(debianCSV)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DebianSupportFile, err)
	}
	return s, nil
}
