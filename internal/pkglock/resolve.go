package pkglock

import (
	"fmt"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/debrepo"
)

// FromInstalled makes the section of suite.Arch from what a resolution installed (the
// dpkg status of an mmdebstrap run against the live mirror) and the suite's verified
// index, which gives each package's pool file, size, sha256 and priority. Each
// installed package must be in the index at the installed version: one that is not
// means the mirror moved while resolving, and resolving again fixes it.
func FromInstalled(suite *debrepo.Suite, installed []Installed) (*Section, error) {
	s := &Section{Arch: suite.Arch, Date: suite.Date.UTC()}
	for _, p := range installed {
		ip, ok := suite.Index.Lookup(p.Name)
		switch {
		case !ok:
			return nil, fmt.Errorf("package %s %s is installed but not in %s (%s): the mirror changed while resolving, or the package came from elsewhere; run `release lock` again",
				p.Name, p.Version, suite.Origin, suite.Date.Format("2006-01-02 15:04 MST"))
		case ip.Version != p.Version || ip.Architecture != p.Arch:
			return nil, fmt.Errorf("package %s is installed at %s (%s), %s (%s) lists %s (%s): the mirror changed while resolving; run `release lock` again",
				p.Name, p.Version, p.Arch, suite.Origin, suite.Date.Format("2006-01-02 15:04 MST"), ip.Version, ip.Architecture)
		}
		prio := ip.Priority
		if prio == "" {
			prio = "optional" // the archive's default when an override names none
		}
		s.Packages = append(s.Packages, Entry{Name: p.Name, Version: p.Version, Arch: p.Arch, Priority: prio,
			Size: ip.Size, SHA256: ip.SHA256, Filename: ip.Filename})
	}
	if len(s.Packages) == 0 {
		return nil, fmt.Errorf("no package installed for %s: nothing to lock", suite.Arch)
	}
	sortEntries(s.Packages)
	return s, nil
}

// Where locks live. An image's lock sits next to its definition; the builders', which
// toolchain.yaml defines, in builders/ at the root of the checkout.
const (
	BuildersDir = "builders"
	// SeedName is the seed's lock in BuildersDir: it is no builders: entry, and
	// toolchain.yaml may not name a builder so.
	SeedName = "seed"
)

// ImagePath is images/<name>.lock for an images directory.
func ImagePath(imagesDir, name string) string { return filepath.Join(imagesDir, name+".lock") }

// BuilderPath is builders/<name>.lock in the checkout at root.
func BuilderPath(root, name string) string { return filepath.Join(root, BuildersDir, name+".lock") }
