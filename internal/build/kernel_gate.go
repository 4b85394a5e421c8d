package build

import (
	"context"
	"errors"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/support"
)

// GateKernel is the support gate of a single kernel build (`release build` without
// --all, the Dagger function kernel), judged on asOf. A variant that is a target of
// the arch is gated like one: removed, or past its removal date, is ErrRefused (and
// support.ErrRemoved); deprecated or unmaintained builds with the decision's warnings.
// A variant that is no target (test, a developer's debug build) is not gated. It needs
// no engine.
func GateKernel(tc *manifest.Toolchain, a arch.Arch, variant string, asOf time.Time) (support.Decision, error) {
	d, err := support.Gate(tc, a.Name, variant, asOf)
	switch {
	case errors.Is(err, support.ErrUnknownTarget):
		return support.Decision{}, nil
	case errors.Is(err, support.ErrRemoved):
		return d, refused(err)
	case err != nil:
		return d, badInput(err)
	}
	return d, nil
}

// GatedKernel builds spec's kernel once GateKernel allows it, logging the gate's
// warnings: the one single-kernel path of both front doors.
func (p *Pipeline) GatedKernel(ctx context.Context, repo *Repo, spec KernelSpec, asOf time.Time) (*Kernel, error) {
	d, err := GateKernel(repo.Toolchain, spec.Arch, spec.Variant, asOf)
	if err != nil {
		return nil, err
	}
	d.Log(p.Log)
	return p.Kernel(ctx, repo, spec)
}
