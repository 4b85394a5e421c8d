package policy

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/mod/module"
	modsemver "golang.org/x/mod/semver"
)

// ParseModuleList reads a Go module proxy's <module>/@v/list: one tagged
// version per line, in no particular order. A module without tags has an
// empty list.
func ParseModuleList(data []byte) ([]*semver.Version, error) {
	var out []*semver.Version
	for i, ln := range strings.Split(string(data), "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		if !modsemver.IsValid(ln) {
			return nil, fmt.Errorf("line %d: %q is not a module version: not a proxy @v/list", i+1, ln)
		}
		v, err := ParseModuleVersion(ln)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// ModuleListName is where a module's version list lives in a feeds
// directory: modules/<escaped path>/@v/list, the proxy's own layout, so a
// snapshot can also be served as a GOPROXY file tree.
func ModuleListName(path string) (string, error) {
	esc, err := module.EscapePath(path)
	if err != nil {
		return "", fmt.Errorf("module path %q: %w", path, err)
	}
	return "modules/" + esc + "/@v/list", nil
}
