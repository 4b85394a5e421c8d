package sbom

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// LockedDeb is one package of an image's package lock: the .deb a build installs.
type LockedDeb struct {
	Name, Version, Arch string
	SHA256              string
	// Filename is the pool path under the mirror (pool/main/k/kmod/kmod_30+20221128-1_amd64.deb).
	Filename string
}

// ImageLock is an image's package lock (images/<name>.lock) as the SBOM takes it.
type ImageLock struct {
	// File names the lock in errors; Mirror is the archive the pool paths are under.
	File, Mirror string
	// Arches maps a Debian architecture to its packages.
	Arches map[string][]LockedDeb
}

// maxListed bounds how many differing packages an error lists.
const maxListed = 10

// fromLock cross-checks what dpkg's status in the image says is installed with the
// image's lock, which must list exactly the same packages at the same versions and
// architectures, and returns the packages with their .deb from the lock. status names
// the status file in errors.
func fromLock(pkgs []DebPackage, lock ImageLock, debArch, status string) ([]DebPackage, error) {
	locked, ok := lock.Arches[debArch]
	if !ok {
		return nil, fmt.Errorf("%s has no section for arch %s, which %s was built for: the image was not built from this checkout's lock", lock.File, debArch, status)
	}
	key := func(name, arch string) string { return name + "\x00" + arch }
	byKey := make(map[string]LockedDeb, len(locked))
	for _, d := range locked {
		byKey[key(d.Name, d.Arch)] = d
	}
	var problems []string
	out := make([]DebPackage, len(pkgs))
	seen := map[string]bool{}
	for i, p := range pkgs {
		k := key(p.Name, p.Architecture)
		seen[k] = true
		d, ok := byKey[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s %s (%s) is installed, the lock has no such package", p.Name, p.Version, p.Architecture))
		case d.Version != p.Version:
			problems = append(problems, fmt.Sprintf("%s (%s) is installed at %s, the lock says %s", p.Name, p.Architecture, p.Version, d.Version))
		}
		p.Deb = d
		out[i] = p
	}
	for _, d := range locked {
		if !seen[key(d.Name, d.Arch)] {
			problems = append(problems, fmt.Sprintf("%s %s (%s) is in the lock, not installed", d.Name, d.Version, d.Arch))
		}
	}
	if len(problems) == 0 {
		return out, nil
	}
	slices.Sort(problems)
	more := ""
	if len(problems) > maxListed {
		more = fmt.Sprintf("; and %d more", len(problems)-maxListed)
		problems = problems[:maxListed]
	}
	return nil, fmt.Errorf("%s does not match %s (arch %s): %s%s; build the image from the checkout's lock (or run `release lock`) and attest again",
		status, lock.File, debArch, strings.Join(problems, "; "), more)
}

// debLocation is where the .deb of d is downloaded from.
func debLocation(mirror string, d LockedDeb) string {
	return strings.TrimSuffix(mirror, "/") + "/" + d.Filename
}

// debFileName is the .deb's own name.
func debFileName(d LockedDeb) string { return path.Base(d.Filename) }
