package pkglock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
)

// States of a Need.
const (
	StateCurrent = "current" // answers its definition
	StateMissing = "missing" // no lock file
	StateStale   = "stale"   // the definition changed since the lock was resolved
	StateBroken  = "broken"  // the file does not parse
)

// Status is a Need judged on a day against the suite's index: `release plan` and
// `release lock --dry-run` show it.
type Status struct {
	Need
	State string
	// AgeDays is how long before the day the lock was resolved (its oldest section).
	AgeDays int
	// Previews are what an update would change, per section, from the index; nil
	// without a lock. PreviewErr says why there is none (no index in a snapshot).
	Previews   []Preview
	PreviewErr error
}

// Survey judges each need. src may be nil: no preview.
func Survey(ctx context.Context, needs []Need, src debrepo.Source, asOf time.Time) []Status {
	out := make([]Status, 0, len(needs))
	for _, n := range needs {
		st := Status{Need: n, State: StateCurrent}
		var stale *StaleError
		switch {
		case errors.Is(n.Err, ErrNoLock):
			st.State = StateMissing
		case errors.As(n.Err, &stale):
			st.State = StateStale
		case n.Err != nil:
			st.State = StateBroken
		}
		if n.Lock != nil {
			st.AgeDays = n.Lock.Age(asOf)
			if src != nil {
				st.Previews, st.PreviewErr = n.Lock.Preview(ctx, src)
			}
		}
		out = append(out, st)
	}
	return out
}

// Summary is the status in one line: "images/default.lock: current, resolved
// 2026-11-08 (26 days ago); an update would change 3 changed, 0 added, 1 removed".
func (s Status) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", s.Path, s.State)
	if s.Lock != nil {
		fmt.Fprintf(&b, ", resolved %s (%d days ago)", s.Lock.Resolved().Format(time.DateOnly), s.AgeDays)
	}
	switch {
	case s.Lock == nil:
	case s.PreviewErr != nil:
		fmt.Fprintf(&b, "; no update preview: %v", s.PreviewErr)
	case s.Previews != nil:
		var changes []Change
		deps := 0
		for _, p := range s.Previews {
			changes = append(changes, p.Changes...)
			deps += len(p.NewDeps)
		}
		if len(changes) == 0 && deps == 0 {
			b.WriteString("; the mirror serves every locked package unchanged")
		} else {
			fmt.Fprintf(&b, "; an update would change %s", Summary(changes))
			if deps > 0 {
				fmt.Fprintf(&b, ", and add at least %d new dependencies", deps)
			}
		}
	}
	return b.String()
}

// Details are the lines under the summary: why the lock cannot be built from, then
// each previewed change.
func (s Status) Details() []string {
	var out []string
	if s.Err != nil {
		out = append(out, s.Err.Error())
	}
	for _, p := range s.Previews {
		for _, c := range p.Changes {
			out = append(out, c.String())
		}
		for _, d := range p.NewDeps {
			out = append(out, p.Arch+": + "+d+" (new dependency)")
		}
	}
	return out
}
