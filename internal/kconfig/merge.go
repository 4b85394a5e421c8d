package kconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// ErrNotApplicable is returned by Merge for a variant none of whose fragments
// apply to the arch (e.g. a variant declared for x86_64 only): that (arch,
// variant) pair is not a build target.
var ErrNotApplicable = errors.New("kernel config variant does not apply to this arch")

// Merged is the configuration requested for one (arch, variant).
type Merged struct {
	Arch    arch.Arch
	Variant string
	// Standalone is true when the variant skipped common/ and <arch>/.
	Standalone bool
	// Fragments are the files applied, in merge order.
	Fragments []string
	// Settings are the final requests, sorted by symbol name; Pos is the
	// line that won.
	Settings []Setting
	// Overrides records each later level changing an earlier level's value.
	Overrides []Override
}

// Override is a later level (arch or variant) replacing an earlier request.
type Override struct {
	Name     string
	From, To Setting
}

func (o Override) String() string {
	return fmt.Sprintf("%s: %s (%s) overrides %s (%s)", o.Name, o.To.Value, o.To.Pos, o.From.Value, o.From.Pos)
}

// Merge builds the request for arch a and variant ("default" for common +
// arch only). Fragments excluded by their directives are skipped.
func (t *Tree) Merge(a arch.Arch, variant string) (*Merged, error) {
	if _, err := arch.Parse(a.Name); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if variant == "" {
		variant = DefaultVariant
	}
	var vfrags []*Fragment
	if variant != DefaultVariant {
		var ok bool
		if vfrags, ok = t.variants[variant]; !ok {
			return nil, fmt.Errorf("unknown kernel config variant %q: have %s (directories under %s)",
				variant, strings.Join(t.Variants(), ", "), t.display(VariantsDir))
		}
	}
	m := &Merged{Arch: a, Variant: variant}
	applies := false
	for _, f := range vfrags {
		if f.Select.Standalone {
			m.Standalone = true
		}
		applies = applies || f.Select.Applies(a.Name, variant)
	}
	if variant != DefaultVariant && !applies {
		return nil, fmt.Errorf("%w: every fragment of %s excludes %s",
			ErrNotApplicable, t.display(VariantsDir+"/"+variant), a.Name)
	}
	var levels [][]*Fragment
	if !m.Standalone {
		levels = append(levels, t.common, t.arches[a.Name])
	}
	levels = append(levels, vfrags)

	final := map[string]Setting{}
	for _, level := range levels {
		inLevel := map[string]Setting{}
		for _, f := range level {
			if !f.Select.Applies(a.Name, variant) {
				continue
			}
			m.Fragments = append(m.Fragments, f.Path)
			for _, s := range f.Settings {
				if prev, ok := inLevel[s.Name]; ok {
					if !prev.Value.Equal(s.Value) {
						return nil, &Error{s.Pos, fmt.Errorf("conflicting %s: %s here, %s at %s (same merge level): pick one, or move one to a later level (arch or variant)",
							s.Name, s.Value, prev.Value, prev.Pos)}
					}
					continue
				}
				inLevel[s.Name] = s
			}
		}
		for name, s := range inLevel {
			prev, ok := final[name]
			if ok && prev.Value.Equal(s.Value) {
				continue // a restatement is not an override; keep the first position
			}
			if ok {
				m.Overrides = append(m.Overrides, Override{Name: name, From: prev, To: s})
			}
			final[name] = s
		}
	}
	if len(final) == 0 {
		return nil, fmt.Errorf("kernel config %s/%s requests nothing: every fragment was excluded by its directives", a.Name, variant)
	}
	for _, s := range final {
		m.Settings = append(m.Settings, s)
	}
	sort.Slice(m.Settings, func(i, j int) bool { return m.Settings[i].Name < m.Settings[j].Name })
	// Stable: one symbol overridden at two levels keeps level order.
	sort.SliceStable(m.Overrides, func(i, j int) bool { return m.Overrides[i].Name < m.Overrides[j].Name })
	return m, nil
}

// Bytes is the merged fragment to pass as KCONFIG_ALLCONFIG: a header naming
// the arch, then one line per setting sorted by name. It holds no file names,
// variant names or timestamps, so it only changes when a request changes.
func (m *Merged) Bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# guestforge merged kernel config request\n# arch=%s\n", m.Arch.Name)
	for _, s := range m.Settings {
		b.WriteString(s.Line())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// IDLength is the number of hex digits in a config id.
const IDLength = 12

// ID is the config id: the first 12 hex digits of sha256(Bytes()).
func (m *Merged) ID() string {
	sum := sha256.Sum256(m.Bytes())
	return hex.EncodeToString(sum[:])[:IDLength]
}

// Lookup returns the request for a symbol.
func (m *Merged) Lookup(name string) (Setting, bool) {
	i := sort.Search(len(m.Settings), func(i int) bool { return m.Settings[i].Name >= name })
	if i < len(m.Settings) && m.Settings[i].Name == name {
		return m.Settings[i], true
	}
	return Setting{}, false
}
