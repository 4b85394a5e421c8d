package plan

import (
	"context"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
)

// PolicyCheck is the Policy the CLI uses: internal/policy's Check over
// feeds from Source (a snapshot directory or upstream), with the direct
// requirements of GoMod ("" = pins only).
type PolicyCheck struct {
	Source policy.Source
	GoMod  string
}

// Check runs internal/policy's pure evaluation.
func (c PolicyCheck) Check(ctx context.Context, tc *manifest.Toolchain, asOf time.Time) (PolicyReport, error) {
	var deps []policy.Dependency
	if c.GoMod != "" {
		d, err := policy.LoadDirectDeps(c.GoMod)
		if err != nil {
			return PolicyReport{}, err
		}
		deps = d
	}
	rep, err := policy.Evaluate(ctx, c.Source, tc, deps, asOf)
	if err != nil {
		return PolicyReport{}, err
	}
	return FromPolicy(rep), nil
}

// FromPolicy converts internal/policy's report.
func FromPolicy(rep *policy.Report) PolicyReport {
	out := PolicyReport{Pass: len(rep.Violations()) == 0, Source: rep.Summary()}
	for _, row := range rep.Rows {
		level := LevelOK
		switch row.Status {
		case policy.StatusViolation:
			level = LevelViolation
		case policy.StatusWarn, policy.StatusExcepted:
			level = LevelWarn
		}
		out.Findings = append(out.Findings, Finding{Name: row.Name, Pinned: row.Pinned, Level: level, Message: row.Why})
	}
	return out
}
