package policy

import (
	"encoding/json"
	"fmt"
	"time"

	version "github.com/hashicorp/go-version"
)

// Kernel monikers in releases.json.
const (
	MonikerMainline  = "mainline"
	MonikerStable    = "stable"
	MonikerLongterm  = "longterm"
	MonikerLinuxNext = "linux-next"
)

// KernelRelease is one entry of https://www.kernel.org/releases.json: the
// newest release of one branch (kernel.org lists a branch once, at its head).
type KernelRelease struct {
	Raw     string // "6.12.119", "7.4-rc3"
	Version *version.Version
	Moniker string
	EOL     bool
	Date    time.Time
}

// Series is the branch, MAJOR.MINOR.
func (k KernelRelease) Series() string { return toolchainLine.minor(k.Version).String() }

type kernelFeed struct {
	LatestStable *struct {
		Version string `json:"version"`
	} `json:"latest_stable"`
	Releases []struct {
		IsEOL    *bool  `json:"iseol"`
		Version  string `json:"version"`
		Moniker  string `json:"moniker"`
		Released struct {
			Timestamp int64  `json:"timestamp"`
			ISODate   string `json:"isodate"`
		} `json:"released"`
	} `json:"releases"`
}

// ParseKernelReleases reads releases.json. linux-next snapshots are dropped:
// they are not releases.
func ParseKernelReleases(data []byte) ([]KernelRelease, error) {
	var f kernelFeed
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not kernel.org releases.json (%w)", err)
	}
	if f.LatestStable == nil || len(f.Releases) == 0 {
		return nil, fmt.Errorf("not kernel.org releases.json: want {\"latest_stable\": ..., \"releases\": [...]}")
	}
	var out []KernelRelease
	for i, r := range f.Releases {
		switch r.Moniker {
		case MonikerLinuxNext:
			continue
		case MonikerMainline, MonikerStable, MonikerLongterm:
		default:
			return nil, fmt.Errorf("releases[%d] (%s): unknown moniker %q", i, r.Version, r.Moniker)
		}
		if r.IsEOL == nil {
			return nil, fmt.Errorf("releases[%d] (%s): no iseol field", i, r.Version)
		}
		v, err := ParseToolchainVersion(r.Version)
		if err != nil {
			return nil, fmt.Errorf("releases[%d]: %w", i, err)
		}
		d, err := time.Parse("2006-01-02", r.Released.ISODate)
		if err != nil {
			return nil, fmt.Errorf("releases[%d] (%s): released.isodate %q is not a date", i, r.Version, r.Released.ISODate)
		}
		out = append(out, KernelRelease{Raw: r.Version, Version: v, Moniker: r.Moniker, EOL: *r.IsEOL, Date: d})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("releases.json lists no mainline, stable or longterm release")
	}
	return out, nil
}
