package sbom

import (
	"fmt"
	"path"
	"strings"

	"github.com/guestforge/guestforge/internal/pkglock"
)

// fromLock holds what dpkg's status in the image says is installed to the image's
// lock with the check a build makes (pkglock's CheckInstalled: the same packages at
// the same versions and architectures) and returns the packages with the lock entry
// of the .deb each was installed from. status names the status file in errors.
func fromLock(pkgs []DebPackage, lock *pkglock.Lock, debArch, status string) ([]DebPackage, error) {
	sec, ok := lock.Section(debArch)
	if !ok {
		return nil, fmt.Errorf("%s has no section for arch %s, which %s was built for: the image was not built from this checkout's lock", lock.Path, debArch, status)
	}
	installed := make([]pkglock.Installed, len(pkgs))
	for i, p := range pkgs {
		installed[i] = pkglock.Installed{Name: p.Name, Version: p.Version, Arch: p.Architecture}
	}
	if err := lock.CheckInstalled(sec, installed, status); err != nil {
		return nil, err
	}
	out := make([]DebPackage, len(pkgs))
	for i, p := range pkgs {
		// CheckInstalled found each at its version; a name is locked once per
		// section (a single-arch image: its arch or all).
		p.Deb, _ = sec.Lookup(p.Name)
		out[i] = p
	}
	return out, nil
}

// debLocation is where the .deb of e is downloaded from.
func debLocation(mirror string, e pkglock.Entry) string {
	return strings.TrimSuffix(mirror, "/") + "/" + e.Filename
}

// debFileName is the .deb's own name.
func debFileName(e pkglock.Entry) string { return path.Base(e.Filename) }
