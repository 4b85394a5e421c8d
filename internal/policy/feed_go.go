package policy

import (
	"encoding/json"
	"fmt"
	"strings"

	version "github.com/hashicorp/go-version"
)

// GoRelease is one entry of https://go.dev/dl/?mode=json&include=all.
type GoRelease struct {
	// Raw is the feed's name for it, e.g. "go1.27.3" or "go1.28rc1".
	Raw     string
	Version *version.Version
	// Stable is the feed's own flag, and false for any pre-release whatever
	// the flag says: an rc is never "latest".
	Stable bool
}

// goDownload mirrors the upstream JSON. Files are decoded only to prove the
// document has the upstream shape; the policy needs versions alone.
type goDownload struct {
	Version string `json:"version"`
	Stable  *bool  `json:"stable"`
	Files   []struct {
		Filename string `json:"filename"`
		OS       string `json:"os"`
		Arch     string `json:"arch"`
		Version  string `json:"version"`
		SHA256   string `json:"sha256"`
		Size     int64  `json:"size"`
		Kind     string `json:"kind"`
	} `json:"files"`
}

// ParseGoReleases reads the go.dev/dl JSON (a list of {version, stable, files}).
func ParseGoReleases(data []byte) ([]GoRelease, error) {
	var raw []goDownload
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not the go.dev/dl JSON list (%w)", err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("the go.dev/dl list is empty")
	}
	out := make([]GoRelease, 0, len(raw))
	for i, d := range raw {
		if !strings.HasPrefix(d.Version, "go") || d.Stable == nil {
			return nil, fmt.Errorf("entry %d (%q) lacks the upstream fields: want {\"version\": \"goX.Y.Z\", \"stable\": bool, ...}", i, d.Version)
		}
		v, err := ParseToolchainVersion(d.Version)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, GoRelease{Raw: d.Version, Version: v, Stable: *d.Stable && v.Prerelease() == ""})
	}
	return out, nil
}
