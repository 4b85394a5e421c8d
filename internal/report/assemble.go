package report

import (
	"cmp"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/support"
)

// Options are the inputs of a report.
type Options struct {
	// Dist is the dist directory: a tree itself, or the parent of dist/<version>/ trees.
	Dist string
	// Version picks the tree and names the report; defaults to the record's
	// version, then the only tree's directory name, then "dev".
	Version string
	// Record is what the pipelines ran; nil reports only what is on disk.
	Record *Record
	// Repro is the reproducibility gate's verdict (`release repro`'s
	// OUT/report.json, `release repro compare --json`); nil leaves every
	// artifact's Reproducible unknown. Its paths are relative to the compared
	// trees, which have the dist tree's layout.
	Repro *repro.Report
	// Toolchain supplies maintainers and support status; nil leaves them empty.
	Toolchain *manifest.Toolchain
	// History are earlier reports to summarise, in any order.
	History []*Report
	// Log receives warnings (verdicts on files not in the tree or on other
	// bytes than the tree's); nil discards them.
	Log *slog.Logger
}

// Build assembles the report for one build or release.
func Build(opts Options) (*Report, error) {
	rec := opts.Record
	if rec == nil {
		rec = &Record{}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	version := cmp.Or(opts.Version, rec.Version)
	root, prefix, found, err := findTree(opts.Dist, version)
	if err != nil {
		return nil, err
	}
	if !found && len(rec.Steps) == 0 {
		return nil, fmt.Errorf("%s holds no dist tree and no build record was given: build first (make, or dagger call all ... export --path=%s)", opts.Dist, opts.Dist)
	}
	r := &Report{
		Schema: Schema, Version: cmp.Or(version, prefix, "dev"),
		Commit: rec.Commit, Created: rec.Finished,
		Steps: []Step{}, Artifacts: []Artifact{},
	}
	if found {
		if r.Artifacts, err = scan(root, prefix); err != nil {
			return nil, err
		}
	}
	if err := applyRecord(r, rec); err != nil {
		return nil, err
	}
	if opts.Repro != nil {
		applyRepro(r, prefix, opts.Repro, log)
	}
	inheritFromSubjects(r.Artifacts)
	if opts.Toolchain != nil {
		if err := attribute(r, opts.Toolchain); err != nil {
			return nil, err
		}
	}
	sortArtifacts(r.Artifacts)
	r.Totals = totals(r)
	if r.History, err = history(r, opts.History); err != nil {
		return nil, err
	}
	return r, nil
}

// applyRecord joins the record's steps to the files they made and adds rows
// for files a step should have made but did not.
func applyRecord(r *Report, rec *Record) error {
	byPath := map[string]int{}
	for i, a := range r.Artifacts {
		byPath[a.Path] = i
	}
	steps := slices.Clone(rec.Steps)
	slices.SortFunc(steps, func(a, b RecordStep) int { return strings.Compare(a.ID, b.ID) })
	for _, s := range steps {
		archName := ""
		if s.Arch != "" {
			a, err := arch.Parse(s.Arch)
			if err != nil {
				return fmt.Errorf("build record step %s: %w", s.ID, err)
			}
			archName = a.Name
		}
		st := Step{
			ID: s.ID, Kind: s.Kind, Arch: archName, Variant: s.Variant, Image: s.Image,
			Status: s.Status, DurationMS: s.DurationMS, CacheHit: TriOf(s.CacheHit),
			Log: s.Log, Error: s.Error,
		}
		r.Steps = append(r.Steps, st)
		fromStep := func(a *Artifact) {
			a.Step, a.DurationMS, a.CacheHit, a.Log = st.ID, st.DurationMS, st.CacheHit, st.Log
			a.Arch = cmp.Or(a.Arch, st.Arch)
			a.Variant = cmp.Or(a.Variant, st.Variant)
			a.Image = cmp.Or(a.Image, st.Image)
			if st.Status != StatusOK {
				// A file left over from an earlier run does not make a failed step good.
				a.Status, a.Error = st.Status, st.Error
			}
		}
		if len(s.Outputs) == 0 && s.Status != StatusOK {
			a := Artifact{Name: s.ID, Kind: cmp.Or(s.Kind, "other"), Status: s.Status,
				CacheHit: Unknown, Reproducible: Unknown, Maintainers: []string{}}
			fromStep(&a)
			r.Artifacts = append(r.Artifacts, a)
			continue
		}
		for _, out := range s.Outputs {
			if i, ok := byPath[out]; ok {
				fromStep(&r.Artifacts[i])
				continue
			}
			a := Artifact{Path: out, Name: path.Base(out), Kind: guessKind(path.Base(out), s.Kind),
				Status: StatusMissing, CacheHit: Unknown, Reproducible: Unknown, Maintainers: []string{}}
			fromStep(&a)
			if a.Status == StatusMissing && a.Error == "" {
				a.Error = "the step reported success but the file is not in the dist tree"
			}
			byPath[out] = len(r.Artifacts)
			r.Artifacts = append(r.Artifacts, a)
		}
	}
	return nil
}

// applyRepro joins the gate's verdict to the artifacts it compared: the gate's
// trees have the dist tree's layout, so its path p is the artifact at
// prefix/p. The two answers are not claims of one kind. "no" is about what
// builds the file: two builds from the same inputs gave different bytes (or
// only one gave it), whichever bytes the dist tree holds. "yes" is about bytes:
// only a file with the very bytes both builds gave is shown reproducible; one
// with other bytes (built from other inputs, or by a build the gate did not
// see) stays unknown, with a warning.
func applyRepro(r *Report, prefix string, g *repro.Report, log *slog.Logger) {
	byPath := map[string]int{}
	for i, a := range r.Artifacts {
		if a.Path != "" {
			byPath[a.Path] = i
		}
	}
	for _, ga := range g.Artifacts {
		p := path.Join(prefix, ga.Path)
		i, ok := byPath[p]
		if !ok {
			log.Warn("reproducibility verdict for a file that is not in the report", "path", p)
			continue
		}
		a := &r.Artifacts[i]
		switch {
		case !ga.Identical:
			a.Reproducible, a.ReproDiff = No, ga.Difference()
		case ga.SHA256A != "" && ga.SHA256A == a.SHA256:
			a.Reproducible, a.ReproDiff = Yes, ""
		default:
			log.Warn("the reproducibility gate compared other bytes than the dist tree holds: reproducible stays unknown (rebuild, or run the gate on this build's inputs)",
				"path", p, "gate_sha256", ga.SHA256A, "dist_sha256", a.SHA256)
		}
	}
}

// attribute fills maintainers and support status from toolchain.yaml. An
// artifact whose variant is a target's belongs to that one target; otherwise to
// every target of its arch that builds its image (or, for kernels, every
// target of the arch); the most supported status speaks for the group.
func attribute(r *Report, tc *manifest.Toolchain) error {
	entries, err := support.Entries(tc)
	if err != nil {
		return err
	}
	for i := range r.Artifacts {
		a := &r.Artifacts[i]
		if a.Arch == "" {
			continue
		}
		// A variant no target of the arch names (test, the small-machine stand-in
		// for the arch's kernels) speaks for the arch as a whole.
		variant := a.Variant
		if !slices.ContainsFunc(entries, func(e support.Entry) bool {
			return e.Arch.Name == a.Arch && e.Target.Variant == variant
		}) {
			variant = ""
		}
		var matched []support.Entry
		for _, e := range entries {
			switch {
			case e.Arch.Name != a.Arch:
			case variant != "":
				if e.Target.Variant == variant {
					matched = append(matched, e)
				}
			case a.Image != "":
				if slices.Contains(e.Target.Images, a.Image) {
					matched = append(matched, e)
				}
			default:
				matched = append(matched, e)
			}
		}
		var maint []string
		best := ""
		for _, e := range matched {
			for _, m := range e.Target.Maintainers {
				if m = strings.TrimSpace(m); m != "" && !slices.Contains(maint, m) {
					maint = append(maint, m)
				}
			}
			if best == "" || support.Rank(e.Status) < support.Rank(support.Status(best)) {
				best = string(e.Status)
			}
		}
		slices.Sort(maint)
		a.Maintainers = append([]string{}, maint...)
		a.Support = best
	}
	return nil
}

func sortArtifacts(arts []Artifact) {
	order := map[string]int{}
	for i, n := range arch.Names() {
		order[n] = i
	}
	archRank := func(a string) int {
		if i, ok := order[a]; ok {
			return i
		}
		return len(order) // release-wide files after the arches
	}
	slices.SortStableFunc(arts, func(a, b Artifact) int {
		return cmp.Or(
			cmp.Compare(archRank(a.Arch), archRank(b.Arch)),
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			strings.Compare(a.Variant, b.Variant),
			strings.Compare(a.Image, b.Image),
			strings.Compare(a.Path, b.Path),
			strings.Compare(a.Name, b.Name),
		)
	})
}

func totals(r *Report) Totals {
	var t Totals
	for _, a := range r.Artifacts {
		t.Artifacts++
		t.Size += a.Size
		if a.Status == StatusFailed || a.Status == StatusMissing {
			t.Failed++
		}
		switch a.Reproducible {
		case Yes:
			t.Reproducible++
		case No:
			t.Unreproduced++
		}
	}
	for _, s := range r.Steps {
		t.DurationMS += s.DurationMS
		switch s.CacheHit {
		case Yes:
			t.CacheHits++
		case No:
			t.CacheMisses++
		}
	}
	return t
}
