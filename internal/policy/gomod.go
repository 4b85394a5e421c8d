package policy

import (
	"fmt"
	"golang.org/x/mod/modfile"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// Dependency is one direct requirement of go.mod (no "// indirect" comment).
type Dependency struct {
	Path    string
	Version string
	File    string
	Line    int
}

// maxGoModBytes bounds go.mod: ours is a few KiB with every requirement.
const maxGoModBytes = 4 * boundedio.MiB

// LoadDirectDeps reads go.mod and returns its direct requirements.
func LoadDirectDeps(path string) ([]Dependency, error) {
	data, err := boundedio.ReadFileLimit(path, maxGoModBytes, "a go.mod")
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}
	return ParseDirectDeps(path, data)
}

// ParseDirectDeps returns the requirements of a go.mod that are not marked
// indirect, skipping those replaced by a local directory (they have no
// upstream release to compare with).
func ParseDirectDeps(file string, data []byte) ([]Dependency, error) {
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.mod: %w", err)
	}
	local := map[string]bool{}
	for _, r := range f.Replace {
		if r.New.Version == "" { // a filesystem path, not a module
			local[r.Old.Path] = true
		}
	}
	// Non-nil even when empty: Bump reads a nil list as "go.mod not read".
	out := []Dependency{}
	for _, r := range f.Require {
		if r.Indirect || local[r.Mod.Path] {
			continue
		}
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		out = append(out, Dependency{Path: r.Mod.Path, Version: r.Mod.Version, File: file, Line: line})
	}
	return out, nil
}
