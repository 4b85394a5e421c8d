package policy

import (
	"context"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// Evaluate reads the feeds m's pins and deps need from src and checks them on
// asOf: the one evaluation behind `release policy check`, the policy stage of
// `release plan` and `release cut`, and the ci/ module's PolicyCheck.
func Evaluate(ctx context.Context, src Source, m *manifest.Toolchain, deps []Dependency, asOf time.Time) (*Report, error) {
	feeds, err := LoadFeeds(ctx, src, NeedsFor(m, deps))
	if err != nil {
		return nil, err
	}
	return Check(m, deps, feeds, asOf)
}

// ViolationNames are the names of the pins that fail the gate, in report order.
func (r *Report) ViolationNames() []string {
	var names []string
	for _, row := range r.Violations() {
		names = append(names, row.Name)
	}
	return names
}
