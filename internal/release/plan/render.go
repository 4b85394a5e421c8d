package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/guestforge/guestforge/internal/release/changes"
)

// WriteText prints the plan for a human, section by section, in the order
// the release manager reads it: the verdict first.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	d := p.Decision
	fmt.Fprintf(&b, "Release plan as of %s (HEAD %s)\n\n", p.AsOf.Format(time.DateOnly), short(p.Head))
	if p.Nothing() {
		fmt.Fprintf(&b, "Next version: nothing to do\n  why: %s\n", d.Reason)
	} else {
		fmt.Fprintf(&b, "Next version: %s (%s)\n  why: %s\n", d.Tag, d.Kind, d.Reason)
		if d.Previous != "" {
			fmt.Fprintf(&b, "  previous: %s\n", d.Previous)
		}
	}
	fmt.Fprintf(&b, "  monthly release day: %s, next: %s\n", d.Due.Format(time.DateOnly), d.NextDue.Format(time.DateOnly))

	since := p.Changes.Since
	if since == "" {
		since = "the first commit"
	}
	fmt.Fprintf(&b, "\nChanges since %s: %d commits\n", since, len(p.Changes.Commits))
	for _, c := range p.Changes.Breaking {
		fmt.Fprintf(&b, "  BREAKING: %s\n", line(c.Description, c.PRs))
	}
	for _, a := range p.Changes.Areas {
		fmt.Fprintf(&b, "  %s\n", a.Name)
		for _, g := range a.Types {
			for _, c := range g.Commits {
				fmt.Fprintf(&b, "    %-8s %s\n", g.Type, line(c.Description, c.PRs))
			}
		}
	}

	verdict := "PASS"
	if !p.Policy.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\nToolchain policy: %s", verdict)
	if p.Policy.Source != "" {
		fmt.Fprintf(&b, " (%s)", p.Policy.Source)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, f := range p.Policy.Findings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, f.Pinned, f.Level, f.Message)
	}
	tw.Flush()

	b.WriteString("\nTargets:\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  TARGET\tSTATUS\tIMAGES\tMAINTAINERS\tBUILD\n")
	for _, t := range p.Targets {
		maint := strings.Join(t.Maintainers, ",")
		if maint == "" {
			maint = "NONE"
		}
		build := "yes"
		if !t.Build {
			build = "no"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", t.Name, t.Status, strings.Join(t.Images, ","), maint, build)
	}
	tw.Flush()
	for _, t := range p.Targets {
		for _, f := range t.Flags {
			fmt.Fprintf(&b, "  ! %s\n", f)
		}
	}

	fmt.Fprintf(&b, "\nWill build (%d):\n", len(p.Builds))
	for _, bl := range p.Builds {
		what := bl.Kind + " " + bl.Arch + "/" + bl.Variant
		if bl.Image != "" {
			what = bl.Kind + " " + bl.Arch + " image " + bl.Image
		}
		fmt.Fprintf(&b, "  %-32s %s\n", what, strings.Join(bl.Files, " "))
	}

	if p.Locks != nil {
		fmt.Fprintf(&b, "\nPackage locks (%d):\n", len(p.Locks))
		for _, l := range p.Locks {
			fmt.Fprintf(&b, "  %s\n", l.Summary)
			for _, d := range l.Details {
				fmt.Fprintf(&b, "    %s\n", d)
			}
		}
	}

	b.WriteString("\nToolchain:")
	for _, pin := range p.Toolchain {
		fmt.Fprintf(&b, " %s %s;", pin.Name, pin.Version)
	}
	b.WriteString("\n")

	for _, wn := range p.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s", wn)
	}
	if len(p.Warnings) > 0 {
		b.WriteString("\n")
	}
	if len(p.Blockers) > 0 {
		b.WriteString("\nBLOCKED: `release cut` would stop:\n")
		for _, bl := range p.Blockers {
			fmt.Fprintf(&b, "  - %s\n", bl)
		}
	} else if !p.Nothing() {
		fmt.Fprintf(&b, "\nReady: `release cut` would release %s.\n", d.Tag)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the plan for scripts (the release workflow reads
// .decision.tag from it).
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

func line(desc string, prs []int) string {
	for _, n := range prs {
		desc += fmt.Sprintf(" (#%d)", n)
	}
	return desc
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// ReadJSON reads a plan written by WriteJSON (`release plan --format json`),
// so a cut can run where git is not available (the ci/ module, whose source
// excludes .git) with exactly the plan the release manager saw.
func ReadJSON(r io.Reader) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read release plan JSON (from `release plan --format json`): %w", err)
	}
	if p.Head == "" || p.AsOf.IsZero() {
		return nil, fmt.Errorf("release plan JSON lacks head or as_of: is it the output of `release plan --format json`?")
	}
	// Grouping is derived, not stored: redo it from the classified commits.
	p.Changes = changes.Group(p.Changes.Since, p.Changes.Commits)
	return &p, nil
}
