package manifest

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/spelling"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// MaxMeasurements caps one target's matrix (vCPU counts × CPU types × guest
// features for SEV-SNP, plus the TDX page orders). Each entry is a launch
// digest a relying party may pin; a few dozen cover every host a release
// supports, and thousands would be a typo in a list.
const MaxMeasurements = 64

// snpActive is SEV_FEATURES bit 0: without it the VMSAs are SEV-ES ones and
// the launch is not SEV-SNP at all.
const snpActive = 0x1

// measure reads a target's measure: block. It returns nil after recording
// why when the block is unusable, so no half-read matrix reaches attest.
func (p *toolchainParser) measure(v *yaml.Node, what string) *Measure {
	m := &Measure{Line: v.Line, Column: v.Column}
	var vcpusNode, cpuNode, featNode, tdxNode *yaml.Node
	before := len(p.errs)
	if !p.mapping(v, what, []field{
		{key: "vcpus", example: "vcpus: [1, 2, 4]", fn: func(_, v *yaml.Node) {
			vcpusNode = v
			m.VCPUs = p.vcpus(v, what+".vcpus")
		}},
		{key: "snp_cpu_types", example: "snp_cpu_types: [EPYC-v4, EPYC-Genoa]", fn: func(_, v *yaml.Node) {
			cpuNode = v
			m.SNPCPUTypes = p.names(v, what+".snp_cpu_types", snpmeasure.CPUTypes(), "QEMU -cpu model")
		}},
		{key: "snp_guest_features", example: "snp_guest_features: [0x1, 0x21]", fn: func(_, v *yaml.Node) {
			featNode = v
			m.SNPGuestFeatures = p.guestFeatures(v, what+".snp_guest_features")
		}},
		{key: "tdx_page_orders", example: "tdx_page_orders: [per-page]", fn: func(_, v *yaml.Node) {
			tdxNode = v
			m.TDXPageOrders = p.names(v, what+".tdx_page_orders", pageOrders(), "page order")
		}},
	}) {
		return nil
	}
	snp := cpuNode != nil || featNode != nil
	switch {
	case !snp && tdxNode == nil:
		p.errorf(v, "%s measures nothing: write snp_cpu_types and snp_guest_features (SEV-SNP), tdx_page_orders (TDX), or both", what)
	case cpuNode != nil && featNode == nil:
		p.errorf(cpuNode, "%s: snp_cpu_types without snp_guest_features: add the SEV_FEATURES the hosts' KVM sets, e.g. snp_guest_features: [0x1]", what)
	case featNode != nil && cpuNode == nil:
		p.errorf(featNode, "%s: snp_guest_features without snp_cpu_types: add the QEMU -cpu models, e.g. snp_cpu_types: [EPYC-Genoa]", what)
	}
	switch {
	case snp && vcpusNode == nil:
		p.errorf(v, "%s: SEV-SNP values depend on the vCPU count: add vcpus: [1, 2, 4] (Kata's default_vcpus)", what)
	case !snp && vcpusNode != nil:
		p.errorf(vcpusNode, "%s.vcpus: only SEV-SNP values depend on the vCPU count, and this target measures TDX alone (MRTD is the same for every vCPU count): remove vcpus", what)
	}
	if n := len(m.VCPUs)*len(m.SNPCPUTypes)*len(m.SNPGuestFeatures) + len(m.TDXPageOrders); n > MaxMeasurements {
		p.errorf(v, "%s asks for %d measurements; the limit is %d: keep the vCPU counts, CPU types and guest features the supported hosts use", what, n, MaxMeasurements)
	}
	if len(p.errs) > before {
		return nil
	}
	return m
}

// measureArch checks that the target's arch has the platforms its matrix
// measures (internal/arch's TEEs).
func (p *toolchainParser) measureArch(what string, n *yaml.Node, t Target) {
	a, err := arch.Parse(t.Arch)
	if err != nil {
		return // the arch itself is reported
	}
	for _, tee := range t.Measure.TEEs() {
		if !a.HasTEE(tee) {
			have := "none"
			if len(a.TEEs) > 0 {
				have = strings.Join(a.TEEs, ", ")
			}
			p.errorf(n, "%s: %s has no %s launch measurement here (its platforms: %s): remove the %s keys or measure an arch that has it",
				what, a.Name, tee, have, tee)
		}
	}
}

// TEEs are the platforms the matrix measures (arch.TEESNP, arch.TEETDX), in
// that order.
func (m *Measure) TEEs() []string {
	var out []string
	if len(m.SNPCPUTypes) > 0 {
		out = append(out, arch.TEESNP)
	}
	if len(m.TDXPageOrders) > 0 {
		out = append(out, arch.TEETDX)
	}
	return out
}

func pageOrders() []string {
	return []string{tdxmeasure.PerPage.String(), tdxmeasure.TwoPass.String()}
}

// vcpus reads a non-empty list of distinct vCPU counts.
func (p *toolchainParser) vcpus(v *yaml.Node, what string) []int {
	items, ok := p.list(v, what)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(v, "%s is empty: list the vCPU counts guests launch with, e.g. [1, 2, 4]", what)
		return nil
	}
	var out []int
	seen := map[int64]*yaml.Node{}
	for i, it := range items {
		n, ok := p.integer(it, fmt.Sprintf("%s[%d]", what, i))
		if !ok {
			continue
		}
		if n < 1 || n > snpmeasure.MaxVCPUs {
			p.errorf(it, "%s: %d vCPUs is out of range: write 1 to %d", what, n, snpmeasure.MaxVCPUs)
			continue
		}
		if first, dup := seen[n]; dup {
			p.errorf(it, "%s lists %d twice (first at line %d): remove one", what, n, first.Line)
			continue
		}
		seen[n] = it
		out = append(out, int(n))
	}
	return out
}

// guestFeatures reads a non-empty list of distinct SEV_FEATURES values, each
// with SNPActive set.
func (p *toolchainParser) guestFeatures(v *yaml.Node, what string) []uint64 {
	items, ok := p.list(v, what)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(v, "%s is empty: list the SEV_FEATURES values, e.g. [0x1] (SNPActive) or [0x1, 0x21] (with DebugSwap)", what)
		return nil
	}
	var out []uint64
	seen := map[int64]*yaml.Node{}
	for i, it := range items {
		n, ok := p.integer(it, fmt.Sprintf("%s[%d]", what, i))
		if !ok {
			continue
		}
		if n < 0 || n&snpActive == 0 {
			p.errorf(it, "%s: %#x does not set bit 0 (SNPActive), so it is not an SEV-SNP launch: write it with 0x1 set, e.g. 0x1 or 0x21", what, n)
			continue
		}
		if first, dup := seen[n]; dup {
			p.errorf(it, "%s lists %#x twice (first at line %d): remove one", what, n, first.Line)
			continue
		}
		seen[n] = it
		out = append(out, uint64(n))
	}
	return out
}

// names reads a non-empty list of distinct names, each spelled exactly as
// one of allowed: reference values name them, so EPYC-Genoa and epyc-genoa
// would be two spellings of one launch.
func (p *toolchainParser) names(v *yaml.Node, what string, allowed []string, noun string) []string {
	ss, ok := p.strList(v, what)
	if !ok {
		return nil
	}
	if len(ss) == 0 {
		p.errorf(v, "%s is empty: list at least one %s (%s)", what, noun, strings.Join(allowed, ", "))
		return nil
	}
	items, _ := p.list(v, what)
	var out []string
	for i, s := range ss {
		if !slices.Contains(allowed, s) {
			p.errorf(items[i], "%s: unknown %s %q%s", what, noun, s, nameHint(s, allowed))
			continue
		}
		out = append(out, s)
	}
	return out
}

// nameHint says how to spell s when it is one of allowed in another case or
// a typo or two away from one (comparing without case, as the names mix
// it: EPYC-Genoa), else lists allowed.
func nameHint(s string, allowed []string) string {
	if j := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, s) }); j >= 0 {
		return fmt.Sprintf(": write it as %s", allowed[j])
	}
	best, bestD := "", 3
	for _, a := range allowed {
		if d := spelling.Distance(strings.ToLower(s), strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	return ": use one of " + strings.Join(allowed, ", ")
}
