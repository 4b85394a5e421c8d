package snpmeasure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/spelling"
)

// cpuModel is the family, model and stepping QEMU reports for one of its
// named AMD CPU models (target/i386/cpu.c builtin_x86_defs). QEMU's SEV
// support puts the resulting CPUID signature in RDX of every VMSA, so the
// CPU model is part of the measurement.
type cpuModel struct{ family, model, stepping uint32 }

// cpuModels holds the names sev-snp-measure accepts. Versioned names share
// their base model's signature: versions change CPUID features, not the
// family, model or stepping.
var cpuModels = map[string]cpuModel{
	"EPYC":          {23, 1, 2},
	"EPYC-v1":       {23, 1, 2},
	"EPYC-v2":       {23, 1, 2},
	"EPYC-IBPB":     {23, 1, 2},
	"EPYC-v3":       {23, 1, 2},
	"EPYC-v4":       {23, 1, 2},
	"EPYC-Rome":     {23, 49, 0},
	"EPYC-Rome-v1":  {23, 49, 0},
	"EPYC-Rome-v2":  {23, 49, 0},
	"EPYC-Rome-v3":  {23, 49, 0},
	"EPYC-Milan":    {25, 1, 1},
	"EPYC-Milan-v1": {25, 1, 1},
	"EPYC-Milan-v2": {25, 1, 1},
	"EPYC-Genoa":    {25, 17, 0},
	"EPYC-Genoa-v1": {25, 17, 0},
	"EPYC-Turin":    {26, 0, 0},
}

// CPUSignature is CPUID Fn0000_0001_EAX for a family, model and stepping
// (AMD pub. 25481): families above 0xF are split into a base of 0xF and an
// extended part, models into their low and high nibbles.
func CPUSignature(family, model, stepping uint32) uint32 {
	famLo, famHi := family, uint32(0)
	if family > 0xF {
		famLo, famHi = 0xF, (family-0xF)&0xFF
	}
	return famHi<<20 | (model>>4&0xF)<<16 | famLo<<8 | (model&0xF)<<4 | stepping&0xF
}

// CPUTypes lists the accepted vCPU type names, sorted.
func CPUTypes() []string {
	names := make([]string, 0, len(cpuModels))
	for n := range cpuModels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseCPUType gives the CPUID signature of a QEMU CPU model name (matched
// without regard to case, as QEMU's -cpu does).
func ParseCPUType(name string) (uint32, error) {
	for n, m := range cpuModels {
		if strings.EqualFold(n, name) {
			return CPUSignature(m.family, m.model, m.stepping), nil
		}
	}
	hint := ""
	best := 4
	for _, n := range CPUTypes() {
		// Compare without the common prefix too, so "Genoa" finds EPYC-Genoa.
		for _, cand := range []string{n, strings.TrimPrefix(n, "EPYC-")} {
			if d := spelling.Distance(strings.ToLower(cand), strings.ToLower(name)); d < best {
				best, hint = d, fmt.Sprintf(" (did you mean %s?)", n)
			}
		}
	}
	return 0, fmt.Errorf("unknown vCPU type %q%s: pass the QEMU -cpu model the guest runs with, one of %s",
		name, hint, strings.Join(CPUTypes(), ", "))
}
