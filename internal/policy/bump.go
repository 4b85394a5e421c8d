package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// Change is one edit that brings a pin to the newest stable release.
type Change struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	File string `json:"file"`
	Line int    `json:"line"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// Auto changes are made by bump --write; the others need a person
	// (Action says what to do).
	Auto   bool   `json:"auto"`
	Action string `json:"action,omitempty"`
	path   []string
}

// ExceptionChange says what bump does with one exception.
type ExceptionChange struct {
	Name  string `json:"name"`
	Allow string `json:"allow"`
	Until string `json:"until"`
	File  string `json:"file"`
	Line  int    `json:"line"`
	Drop  bool   `json:"drop"`
	Why   string `json:"why"`
	index int
}

// Plan is what Bump proposes.
type Plan struct {
	Manifest   string            `json:"manifest"`
	AsOf       string            `json:"as_of"`
	Changes    []Change          `json:"changes"`
	Exceptions []ExceptionChange `json:"exceptions"`
	Notes      []string          `json:"notes"`
}

// Bump proposes the smallest set of edits that moves every pin to the
// newest stable release: Go and Rust to the latest release, the kernel to
// the newest patch of its series (by hand: url and sha256 change with it),
// go.mod requirements to the newest release of their major (by go get).
// Exceptions that the new pins no longer need are dropped. deps nil means
// go.mod was not read: exceptions for modules are then kept, since nothing
// says whether they are still needed.
func Bump(m *manifest.Toolchain, deps []Dependency, f *Feeds, asOf time.Time) (*Plan, error) {
	ev, err := newEvaluator(m, f, asOf)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Manifest: m.Path, AsOf: ev.day.Format(DateLayout)}
	after := map[string]Status{} // status of each named pin once the automatic changes are made

	for _, p := range pinsByLine(m) {
		v, err := ev.toolchainVerdict(p, p.Version)
		if err != nil {
			return nil, err
		}
		newVer := p.Version
		if target, ok := releaseForm(v.target); ok && target != p.Version {
			plan.Changes = append(plan.Changes, Change{Name: p.Name, Kind: p.Feed, File: m.Path, Line: p.Line,
				Old: p.Version, New: target, Auto: true, path: []string{"toolchains", p.Name, "version"}})
			newVer = target
		}
		nv, err := ev.toolchainVerdict(p, newVer)
		if err != nil {
			return nil, err
		}
		after[p.Name] = nv.status
	}

	k := m.Kernel
	if ev.f.Kernel == nil {
		return nil, fmt.Errorf("%s:%d: the kernel needs the kernel feed, which was not loaded", m.Path, k.Line)
	}
	kv, err := kernelVerdict(k.Version, ev.f.Kernel, ev.lag)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", m.Path, k.Line, err)
	}
	if kv.target != "" && kv.target != k.Version {
		plan.Changes = append(plan.Changes, Change{Name: manifest.KernelName, Kind: KindKernel, File: m.Path, Line: k.Line,
			Old: k.Version, New: kv.target,
			Action: "edit kernel.version, kernel.url and kernel.sha256 together once the source archive of " + kv.target + " is available (its sha256 is known only after download)"})
	}
	after[manifest.KernelName] = kv.status // unchanged until a person edits it
	if lts := newestLongterm(ev.f.Kernel); lts != nil && lts.Series() != k.Series() {
		plan.Notes = append(plan.Notes, fmt.Sprintf("a newer longterm kernel series exists: %s (%s); moving series is a deliberate change (config fragments, allowlist/%s.conf), not a bump",
			lts.Series(), lts.Raw, lts.Series()))
	}

	if m.Distro.Feed == manifest.FeedDebian {
		dv, _, err := ev.distroVerdict()
		if err != nil {
			return nil, err
		}
		after[manifest.DistroName] = dv.status // unchanged until a person moves the suite
		if dv.latest != "" && dv.latest != m.Distro.Suite {
			plan.Notes = append(plan.Notes, fmt.Sprintf("a newer Debian release exists: %s; moving distro.suite is a deliberate change (builder and image packages, locks, kernel source), not a bump", dv.latest))
		}
	}

	direct := map[string]bool{}
	for _, d := range deps {
		direct[d.Path] = true
		v, err := ev.moduleVerdict(d, d.Version)
		if err != nil {
			return nil, err
		}
		if v.target != "" && v.target != d.Version {
			plan.Changes = append(plan.Changes, Change{Name: d.Path, Kind: KindModule, File: d.File, Line: d.Line,
				Old: d.Version, New: v.target, Action: fmt.Sprintf("go get %s@%s", d.Path, v.target)})
		}
		if majors := ev.f.Majors[d.Path]; len(majors) > 0 {
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s has a newer major under %s; moving to it changes imports, so it is a deliberate change, not a bump", d.Path, majors[len(majors)-1].Path))
		}
	}

	for _, exc := range m.Policy.Exceptions {
		ec := ExceptionChange{Name: exc.Name, Allow: exc.Allow, Until: exc.Until, File: m.Path, Line: exc.Line, index: exc.Index}
		st, known := after[exc.Name]
		switch {
		case known && st != StatusViolation:
			ec.Drop, ec.Why = true, fmt.Sprintf("%s is within policy without it after this bump", exc.Name)
		case known && exc.Name == manifest.KernelName:
			ec.Why = "still needed until the kernel is bumped by hand"
		case known && exc.Name == manifest.DistroName:
			ec.Why = "still needed until distro.suite is moved by hand"
		case known:
			ec.Why = fmt.Sprintf("still needed: %s stays outside policy", exc.Name)
		case exc.Name == manifest.DistroName:
			ec.Drop, ec.Why = true, "the suite is not gated (distro has no feed: debian)"
		case deps == nil:
			ec.Why = "kept: go.mod was not read (--gomod none, or no go.mod beside the manifest), so nothing shows whether it is still needed"
		case direct[exc.Name]:
			ec.Why = "kept: go.mod is changed by go get, not by bump; remove it after the go get above if the module is then within policy"
		default:
			ec.Drop, ec.Why = true, fmt.Sprintf("%s is not a direct dependency in go.mod", exc.Name)
		}
		plan.Exceptions = append(plan.Exceptions, ec)
	}
	return plan, nil
}

// releaseForm writes a toolchain version as the manifest does (MAJOR.MINOR.PATCH).
func releaseForm(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	v, err := ParseToolchainVersion(s)
	if err != nil {
		return "", false
	}
	return v.Core().String(), true
}

func newestLongterm(rels []KernelRelease) *KernelRelease {
	var best *KernelRelease
	for i, r := range rels {
		if r.Moniker == MonikerLongterm && !r.EOL && (best == nil || r.Version.Compare(best.Version) > 0) {
			best = &rels[i]
		}
	}
	return best
}

// Rewrite is what bump --write applies to the manifest.
func (p *Plan) Rewrite() manifest.Rewrite {
	var rw manifest.Rewrite
	for _, c := range p.Changes {
		if c.Auto {
			rw.Edits = append(rw.Edits, manifest.ScalarEdit{Path: c.path, Old: c.Old, New: c.New})
		}
	}
	for _, e := range p.Exceptions {
		if e.Drop {
			rw.DropExceptions = append(rw.DropExceptions, e.index)
		}
	}
	return rw
}

// Empty reports whether there is nothing to change.
func (p *Plan) Empty() bool {
	return len(p.Changes) == 0 && !slices.ContainsFunc(p.Exceptions, func(e ExceptionChange) bool { return e.Drop })
}

// WriteText prints the plan: one line per edit, file:line first.
func (p *Plan) WriteText(w io.Writer) error {
	var err error
	pr := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	if p.Empty() {
		pr("every pin is at the newest stable release as of %s: nothing to change\n", p.AsOf)
	}
	for _, c := range p.Changes {
		how := "(bump --write edits this)"
		if !c.Auto {
			how = "(by hand: " + c.Action + ")"
		}
		pr("%s:%d: %s %s -> %s %s\n", c.File, c.Line, c.Name, c.Old, c.New, how)
	}
	for _, e := range p.Exceptions {
		verb := "keep"
		if e.Drop {
			verb = "drop"
		}
		pr("%s:%d: %s exception %s (allow %s until %s): %s\n", e.File, e.Line, verb, e.Name, e.Allow, e.Until, e.Why)
	}
	for _, n := range p.Notes {
		pr("note: %s\n", n)
	}
	return err
}

// WriteJSON prints the plan for machines.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
