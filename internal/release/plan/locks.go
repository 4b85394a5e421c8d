package plan

import (
	"context"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// Locks judges the package locks of a checkout (`release lock --dry-run` shows the
// same): nil in Input leaves them out of the plan.
type Locks interface {
	Survey(ctx context.Context, repo string, tc *manifest.Toolchain, asOf time.Time) ([]pkglock.Status, error)
}

// LockSurvey is Locks over the checkout's files, the builders' locks for this host's
// architecture, with an update preview from Source (nil: none).
type LockSurvey struct{ Source debrepo.Source }

// Survey implements Locks.
func (s LockSurvey) Survey(ctx context.Context, repo string, tc *manifest.Toolchain, asOf time.Time) ([]pkglock.Status, error) {
	host, err := arch.Host()
	if err != nil {
		return nil, err
	}
	needs, err := pkglock.Needs(repo, tc, []string{host.DebianArch})
	if err != nil {
		return nil, err
	}
	return pkglock.Survey(ctx, needs, s.Source, asOf), nil
}

// LockState is one package lock in the plan.
type LockState struct {
	Path  string `json:"path"`
	State string `json:"state"` // pkglock.State*
	// Resolved is the InRelease date of the suite the lock was resolved against, and
	// AgeDays its age on the plan's day; empty and 0 without a readable lock.
	Resolved string `json:"resolved,omitempty"`
	AgeDays  int    `json:"age_days"`
	// Summary is the line `release lock --dry-run` prints; Details what is under it.
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// locks adds the locks to the plan: a lock a build would refuse is a warning naming
// the command that resolves it (a cut from prebuilt --artifacts needs no lock, so it is
// no blocker).
func (p *Plan) locks(ctx context.Context, l Locks, repo string, tc *manifest.Toolchain, asOf time.Time) error {
	sts, err := l.Survey(ctx, repo, tc, asOf)
	if err != nil {
		return err
	}
	p.Locks = []LockState{}
	for _, s := range sts {
		ls := LockState{Path: s.Path, State: s.State, AgeDays: s.AgeDays, Summary: s.Summary(), Details: s.Details()}
		if s.Lock != nil {
			ls.Resolved = s.Lock.Resolved().Format(time.DateOnly)
		}
		if s.State != pkglock.StateCurrent && s.Err != nil {
			p.Warnings = append(p.Warnings, "package lock: "+s.Err.Error())
		}
		p.Locks = append(p.Locks, ls)
	}
	return nil
}
