package kconfig

import (
	"fmt"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// Selector is what a fragment's header directives say about where it applies.
//
//	# guestforge: arch=x86_64,aarch64        only for these arches
//	# guestforge: exclude-arch=s390x         every arch but these
//	# guestforge: variant=confidential       only when building these variants
//	# guestforge: exclude-variant=debug,test never when building these variants
//	# guestforge: standalone                 (variant fragments) skip common/ and <arch>/
//
// Several directives may share a line or use several lines; arch names go
// through internal/arch, so aliases are accepted and stored canonically.
type Selector struct {
	Arches, ExcludeArches     []string
	Variants, ExcludeVariants []string
	Standalone                bool
}

func (s *Selector) parse(body string) error {
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return fmt.Errorf("empty %s directive: use arch=, exclude-arch=, variant=, exclude-variant= or standalone", DirectivePrefix)
	}
	for _, f := range fields {
		key, val, hasVal := strings.Cut(f, "=")
		if key == "standalone" && !hasVal {
			s.Standalone = true
			continue
		}
		if !hasVal || val == "" {
			return fmt.Errorf("directive %q needs a value, e.g. %s=x86_64,aarch64", f, key)
		}
		list := strings.Split(val, ",")
		switch key {
		case "arch", "exclude-arch":
			names, err := canonicalArches(list)
			if err != nil {
				return fmt.Errorf("directive %s: %w", key, err)
			}
			if key == "arch" {
				s.Arches = append(s.Arches, names...)
			} else {
				s.ExcludeArches = append(s.ExcludeArches, names...)
			}
		case "variant", "exclude-variant":
			for _, v := range list {
				if !validVariant(v) {
					return fmt.Errorf("directive %s: bad variant name %q (lower-case letters, digits, -)", key, v)
				}
			}
			if key == "variant" {
				s.Variants = append(s.Variants, list...)
			} else {
				s.ExcludeVariants = append(s.ExcludeVariants, list...)
			}
		default:
			return fmt.Errorf("unknown directive %q: use arch=, exclude-arch=, variant=, exclude-variant= or standalone", key)
		}
	}
	if overlap(s.Arches, s.ExcludeArches) || overlap(s.Variants, s.ExcludeVariants) {
		return fmt.Errorf("a name is both selected and excluded: remove one")
	}
	return nil
}

// Applies reports whether a fragment with this selector is part of the
// (arch, variant) build.
func (s Selector) Applies(archName, variant string) bool {
	if len(s.Arches) > 0 && !slices.Contains(s.Arches, archName) {
		return false
	}
	if slices.Contains(s.ExcludeArches, archName) {
		return false
	}
	if len(s.Variants) > 0 && !slices.Contains(s.Variants, variant) {
		return false
	}
	return !slices.Contains(s.ExcludeVariants, variant)
}

func canonicalArches(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, n := range list {
		a, err := arch.Parse(n)
		if err != nil {
			return nil, err
		}
		out = append(out, a.Name)
	}
	return out, nil
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func validVariant(v string) bool {
	if v == "" {
		return false
	}
	for _, c := range v {
		if !(c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
