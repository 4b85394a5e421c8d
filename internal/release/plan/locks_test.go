package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

type stubLocks []pkglock.Status

func (s stubLocks) Survey(context.Context, string, *manifest.Toolchain, time.Time) ([]pkglock.Status, error) {
	return s, nil
}

// The plan lists every lock with its age, and a lock a build would refuse is a warning
// that names the command resolving it.
func TestPlanLocks(t *testing.T) {
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	current := &pkglock.Lock{Path: "images/default.lock", Arches: []*pkglock.Section{{Arch: "amd64", Date: day.AddDate(0, 0, -30)}}}
	missing := fmt.Errorf("%w: images/systemd.lock does not exist; run `release lock --image systemd`, review and commit it", pkglock.ErrNoLock)
	sts := stubLocks{
		{Need: pkglock.Need{Path: "images/default.lock", Lock: current}, State: pkglock.StateCurrent, AgeDays: current.Age(day)},
		{Need: pkglock.Need{Path: "images/systemd.lock", Err: missing}, State: pkglock.StateMissing},
	}
	p := &Plan{}
	if err := p.locks(context.Background(), sts, ".", &manifest.Toolchain{}, day); err != nil {
		t.Fatal(err)
	}
	if len(p.Locks) != 2 || p.Locks[0].Resolved != "2026-11-04" || p.Locks[0].AgeDays != 30 || p.Locks[1].State != "missing" {
		t.Fatalf("locks %+v", p.Locks)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "run `release lock --image systemd`") {
		t.Errorf("warnings %q", p.Warnings)
	}
	var b strings.Builder
	p.Decision.Kind = "none"
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package locks (2):", "  images/default.lock: current, resolved 2026-11-04 (30 days ago)", "  images/systemd.lock: missing"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
}
