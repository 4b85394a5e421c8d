package debrepo

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Package is one stanza of a Debian Packages index, reduced to what bootstrapping needs.
type Package struct {
	Name, Version, Architecture string
	Essential                   bool
	Priority                    string
	// Depends holds Pre-Depends then Depends: each element is a list of alternatives.
	Depends  [][]string
	Provides []string
	// Filename is relative to the mirror root; SHA256 and Size pin its content.
	Filename string
	SHA256   string
	Size     int64
}

// Index is a parsed Packages file.
type Index struct {
	byName     map[string]*Package
	providedBy map[string][]string // virtual name -> real packages providing it, sorted
}

// ParseIndex reads a Packages file (deb822 stanzas). name is used in error messages.
func ParseIndex(name string, r io.Reader) (*Index, error) {
	idx := &Index{byName: map[string]*Package{}, providedBy: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	fields := map[string]string{}
	var last string
	line, start := 0, 1
	flush := func() error {
		if len(fields) == 0 {
			return nil
		}
		p, err := stanza(fields)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		// A suite normally carries one version per package; keep the first if not.
		if _, dup := idx.byName[p.Name]; !dup {
			idx.byName[p.Name] = p
		}
		clear(fields)
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.TrimSpace(text) == "":
			if err := flush(); err != nil {
				return nil, err
			}
			start = line + 1
		case text[0] == ' ' || text[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("%s:%d: continuation line outside a field", name, line)
			}
			fields[last] += "\n" + strings.TrimSpace(text)
		default:
			k, v, ok := strings.Cut(text, ":")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want \"Field: value\", got %q", name, line, text)
			}
			last = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for _, p := range idx.byName {
		for _, v := range p.Provides {
			idx.providedBy[v] = append(idx.providedBy[v], p.Name)
		}
	}
	// Among providers of a virtual package, prefer the one Debian ranks as more basic
	// (mawk, Priority: required, over gawk, optional for awk), as apt would.
	for _, list := range idx.providedBy {
		sort.Slice(list, func(i, j int) bool {
			ri, rj := priorityRank(idx.byName[list[i]].Priority), priorityRank(idx.byName[list[j]].Priority)
			if ri != rj {
				return ri < rj
			}
			return list[i] < list[j]
		})
	}
	return idx, nil
}

func priorityRank(p string) int {
	switch p {
	case "required":
		return 0
	case "important":
		return 1
	case "standard":
		return 2
	case "optional":
		return 3
	default:
		return 4
	}
}

func stanza(f map[string]string) (*Package, error) {
	p := &Package{
		Name:         f["Package"],
		Version:      f["Version"],
		Architecture: f["Architecture"],
		Essential:    f["Essential"] == "yes",
		Priority:     f["Priority"],
		Filename:     f["Filename"],
		SHA256:       f["SHA256"],
	}
	if p.Name == "" || p.Filename == "" || len(p.SHA256) != 64 {
		return nil, fmt.Errorf("package stanza %q lacks Package, Filename or a SHA256", p.Name)
	}
	if s := f["Size"]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("package %s: bad Size %q", p.Name, s)
		}
		p.Size = n
	}
	p.Depends = append(parseRelations(f["Pre-Depends"]), parseRelations(f["Depends"])...)
	for _, alts := range parseRelations(f["Provides"]) {
		p.Provides = append(p.Provides, alts...)
	}
	return p, nil
}

// parseRelations turns "a (>= 1), b:any | c [amd64]" into [[a] [b c]]. Version and
// architecture qualifiers are dropped: a suite's index offers one version of each package,
// so there is nothing to choose between.
func parseRelations(s string) [][]string {
	var out [][]string
	for _, group := range strings.Split(s, ",") {
		var alts []string
		for _, alt := range strings.Split(group, "|") {
			alt = strings.TrimSpace(alt)
			if i := strings.IndexAny(alt, " (["); i >= 0 {
				alt = alt[:i]
			}
			alt, _, _ = strings.Cut(alt, ":")
			if alt != "" {
				alts = append(alts, alt)
			}
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out
}

// Lookup returns the package called name.
func (idx *Index) Lookup(name string) (*Package, bool) {
	p, ok := idx.byName[name]
	return p, ok
}

// Resolve returns, sorted by name, every Essential package plus want and the closure of
// their Pre-Depends and Depends. An alternative group is satisfied by a package already
// chosen (or one providing the name); otherwise its first real package is chosen, then
// the first provider of a virtual name, so the result is a pure function of the index.
func (idx *Index) Resolve(want []string) ([]*Package, error) {
	chosen := map[string]*Package{}
	provided := map[string]bool{}
	var queue []*Package
	add := func(p *Package) {
		if _, ok := chosen[p.Name]; ok {
			return
		}
		chosen[p.Name] = p
		for _, v := range p.Provides {
			provided[v] = true
		}
		queue = append(queue, p)
	}
	names := make([]string, 0, len(idx.byName))
	for n := range idx.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if idx.byName[n].Essential {
			add(idx.byName[n])
		}
	}
	for _, n := range want {
		p, ok := idx.byName[n]
		if !ok {
			return nil, fmt.Errorf("package %q is not in the index: check the name against the suite", n)
		}
		add(p)
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
	group:
		for _, alts := range p.Depends {
			for _, a := range alts {
				if _, ok := chosen[a]; ok || provided[a] {
					continue group
				}
			}
			for _, a := range alts {
				if q, ok := idx.byName[a]; ok {
					add(q)
					continue group
				}
			}
			for _, a := range alts {
				if prov := idx.providedBy[a]; len(prov) > 0 {
					add(idx.byName[prov[0]])
					continue group
				}
			}
			return nil, fmt.Errorf("%s depends on %s, which nothing in the index provides", p.Name, strings.Join(alts, " | "))
		}
	}
	out := make([]*Package, 0, len(chosen))
	for _, p := range chosen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
