package adapt

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/refvals"
)

// RefValuesAttester writes reference-values-<variant>.json for every
// confidential target (a measure: block in toolchain.yaml) the release
// builds. It runs first among the attesters, so SBOMs, provenance and
// SHA256SUMS cover the files it writes.
type RefValuesAttester struct {
	// KernelConfigs is the checkout's kernel-configs/: the config id of a
	// variant says which kernel of the tree is the target's.
	KernelConfigs string
}

// Name implements cut.Attester.
func (RefValuesAttester) Name() string {
	return "reference values (reference-values-<variant>.json per confidential target)"
}

// Attest implements cut.Attester: the measured targets the plan builds.
func (a RefValuesAttester) Attest(_ context.Context, r *cut.Release, t *dist.Tree) error {
	built := map[string]bool{}
	for _, pt := range r.Plan.Targets {
		built[pt.Arch+"/"+pt.Variant] = pt.Build
	}
	_, err := a.Write(t, r.Manifest, func(tg manifest.Target) bool { return built[tg.Arch+"/"+tg.Variant] })
	return err
}

// Write writes the reference values of tc's measured targets that include
// admits (nil: every one not removed), and returns the files written: the
// attest stage and `release attest` both.
func (a RefValuesAttester) Write(t *dist.Tree, tc *manifest.Toolchain, include func(manifest.Target) bool) ([]string, error) {
	if include == nil {
		include = func(tg manifest.Target) bool { return tg.Status != manifest.StatusRemoved }
	}
	var targets []manifest.Target
	for _, tg := range tc.Targets {
		if tg.Measure != nil && include(tg) {
			targets = append(targets, tg)
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	if a.KernelConfigs == "" {
		return nil, errors.New("reference values: the kernel-configs/ directory is unknown, so no kernel can be told to be a target's: pass --configs")
	}
	configs, err := kconfig.Load(a.KernelConfigs)
	if err != nil {
		return nil, err
	}
	var specs []refvals.Spec
	for _, tg := range targets {
		s, err := spec(t, tc, configs, tg)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return refvals.Write(t, specs)
}

// spec finds the target's kernel in t by the config id of its variant.
func spec(t *dist.Tree, tc *manifest.Toolchain, configs *kconfig.Tree, tg manifest.Target) (refvals.Spec, error) {
	a, err := arch.Parse(tg.Arch)
	if err != nil {
		return refvals.Spec{}, err
	}
	where := fmt.Sprintf("%s:%d: target %s/%s", tc.Path, tg.Line, a.Name, tg.Variant)
	merged, err := configs.Merge(a, tg.Variant)
	if err != nil {
		return refvals.Spec{}, fmt.Errorf("%s: %w", where, err)
	}
	ad, ok := t.Arch(a)
	if !ok {
		return refvals.Spec{}, fmt.Errorf("%s is measured, but %s has no %s/ directory: build the target before attest", where, t.Root, a.Name)
	}
	var have []string
	for _, k := range ad.Kernels {
		if k.ConfigID == merged.ID() && k.Vmlinuz != "" {
			m := tg.Measure
			return refvals.Spec{Arch: a, Variant: tg.Variant, Kernel: k.Vmlinuz, Images: tg.Images, Matrix: refvals.Matrix{
				VCPUs: m.VCPUs, SNPCPUTypes: m.SNPCPUTypes, SNPGuestFeatures: m.SNPGuestFeatures, TDXPageOrders: m.TDXPageOrders,
			}}, nil
		}
		have = append(have, k.Version+"-"+k.ConfigID)
	}
	return refvals.Spec{}, fmt.Errorf("%s is measured, but %s/ holds no compressed kernel of config id %s (it holds %s): build the %s variant from this checkout's %s before attest",
		where, a.Name, merged.ID(), orNone(have), tg.Variant, configs.Name)
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
