package refvals

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// Matrix is which launches get a value: toolchain.yaml's measure: block of
// the target (manifest.Measure), or what a file states when it is verified.
type Matrix struct {
	VCPUs            []int
	SNPCPUTypes      []string
	SNPGuestFeatures []uint64
	TDXPageOrders    []string
}

// TEEs are the platforms m measures, arch.TEESNP before arch.TEETDX.
func (m Matrix) TEEs() []string {
	var out []string
	if len(m.SNPCPUTypes) > 0 {
		out = append(out, arch.TEESNP)
	}
	if len(m.TDXPageOrders) > 0 {
		out = append(out, arch.TEETDX)
	}
	return out
}

func (m Matrix) check() error {
	if len(m.TEEs()) == 0 {
		return errors.New("the matrix measures nothing: give SEV-SNP CPU types or TDX page orders")
	}
	if len(m.SNPCPUTypes) > 0 && (len(m.VCPUs) == 0 || len(m.SNPGuestFeatures) == 0) {
		return errors.New("SEV-SNP values need vCPU counts and guest features as well as CPU types")
	}
	return nil
}

// Inputs are the bytes of one launch: the firmware of each platform the
// matrix measures (parsed), and the kernel, initrd and command line QEMU
// gets.
type Inputs struct {
	SNPFirmware *snpmeasure.Firmware
	TDXFirmware *tdxmeasure.Firmware
	Kernel      []byte
	Initrd      []byte
	Cmdline     string
	// KernelName is the kernel's tree path, for errors: a kernel TDX cannot
	// measure (no EFI stub) must be named where attest fails.
	KernelName string
}

// Measure computes the value of every point of m for in: SEV-SNP launch
// digests sorted by vCPUs, CPU type and guest features, TDX values (MRTD,
// RTMR[1], RTMR[2]) sorted by page order.
func Measure(in Inputs, m Matrix) ([]SNPValue, []TDXValue, error) {
	if err := m.check(); err != nil {
		return nil, nil, err
	}
	var snp []SNPValue
	if len(m.SNPCPUTypes) > 0 {
		if in.SNPFirmware == nil {
			return nil, nil, errors.New("SEV-SNP values need the OvmfPkg/AmdSev firmware")
		}
		var err error
		if snp, err = measureSNP(in, m); err != nil {
			return nil, nil, err
		}
	}
	var tdx []TDXValue
	if len(m.TDXPageOrders) > 0 {
		if in.TDXFirmware == nil {
			return nil, nil, errors.New("TDX values need the OvmfPkg/IntelTdx firmware")
		}
		// The RTMRs are the same for every page order: the host's order
		// enters MRTD only.
		r, err := tdxmeasure.MeasureDirectBoot(tdxmeasure.DirectBoot{Kernel: in.Kernel, Initrd: in.Initrd, Cmdline: in.Cmdline})
		if err != nil {
			if in.KernelName != "" {
				return nil, nil, fmt.Errorf("TDX RTMRs of %s: %w", in.KernelName, err)
			}
			return nil, nil, fmt.Errorf("TDX RTMRs: %w", err)
		}
		for _, name := range m.TDXPageOrders {
			order, err := tdxmeasure.ParsePageOrder(name)
			if err != nil {
				return nil, nil, err
			}
			d := tdxmeasure.MRTD(in.TDXFirmware, order)
			tdx = append(tdx, TDXValue{PageOrder: order.String(), MRTD: hex.EncodeToString(d[:]),
				RTMR1: r.RTMR1, RTMR2: r.RTMR2, Assumptions: TDXAssumptions(order.String())})
		}
		slices.SortFunc(tdx, func(a, b TDXValue) int { return cmp.Compare(a.PageOrder, b.PageOrder) })
	}
	return snp, tdx, nil
}

func measureSNP(in Inputs, m Matrix) ([]SNPValue, error) {
	// The firmware pages are the same for every point: hash them once, as
	// sev-snp-measure's --snp-ovmf-hash does (the vectors show it changes
	// nothing).
	seed := snpmeasure.OVMFHash(in.SNPFirmware)
	boot := snpmeasure.NewDirectBoot(in.Kernel, in.Initrd, in.Cmdline)
	var out []SNPValue
	for _, cpu := range m.SNPCPUTypes {
		sig, err := snpmeasure.ParseCPUType(cpu)
		if err != nil {
			return nil, err
		}
		for _, vcpus := range m.VCPUs {
			for _, f := range m.SNPGuestFeatures {
				d, err := snpmeasure.SNP(snpmeasure.Launch{Firmware: in.SNPFirmware, Boot: boot, VCPUs: vcpus,
					CPUSignature: sig, GuestFeatures: f, VMM: snpmeasure.QEMU, OVMFHash: &seed})
				if err != nil {
					return nil, err
				}
				out = append(out, SNPValue{VCPUs: vcpus, CPUType: cpu, GuestFeatures: FormatGuestFeatures(f),
					VMM: VMMQEMU, Measurement: hex.EncodeToString(d[:])})
			}
		}
	}
	slices.SortFunc(out, func(a, b SNPValue) int {
		return cmp.Or(cmp.Compare(a.VCPUs, b.VCPUs), cmp.Compare(a.CPUType, b.CPUType), compareFeatures(a.GuestFeatures, b.GuestFeatures))
	})
	return out, nil
}

// compareFeatures orders "0x1" before "0x21" before "0x101" by value.
func compareFeatures(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

// matrixOf is the matrix a document states: the distinct values of its
// entries. Every launch must state the whole cross product of them, once:
// a file that left a point out, or repeated one, is not what attest writes,
// and recomputing only what it holds would let a dropped value pass.
func matrixOf(d *Document) (Matrix, error) {
	var m Matrix
	seenV, seenC, seenF, seenP := map[int]bool{}, map[string]bool{}, map[uint64]bool{}, map[string]bool{}
	for _, l := range d.Launches {
		for _, v := range l.SNP {
			f, ok := parseFeatures(v.GuestFeatures)
			if !ok {
				return m, fmt.Errorf("launches[%s].snp[%s]: guestFeatures %q is not SEV_FEATURES in hex (0x21)", l.key(), v.key(), v.GuestFeatures)
			}
			if v.VMM != VMMQEMU {
				return m, fmt.Errorf("launches[%s].snp[%s]: vmm %q: only %s launches are measured", l.key(), v.key(), v.VMM, VMMQEMU)
			}
			addOnce(seenV, &m.VCPUs, v.VCPUs)
			addOnce(seenC, &m.SNPCPUTypes, v.CPUType)
			addOnce(seenF, &m.SNPGuestFeatures, f)
		}
		for _, v := range l.TDX {
			addOnce(seenP, &m.TDXPageOrders, v.PageOrder)
		}
	}
	slices.Sort(m.VCPUs)
	slices.Sort(m.SNPCPUTypes)
	slices.Sort(m.SNPGuestFeatures)
	slices.Sort(m.TDXPageOrders)
	if err := m.check(); err != nil {
		return m, err
	}
	snp := len(m.VCPUs) * len(m.SNPCPUTypes) * len(m.SNPGuestFeatures)
	for _, l := range d.Launches {
		if len(l.SNP) != snp || len(l.TDX) != len(m.TDXPageOrders) {
			return m, fmt.Errorf("launches[%s] holds %d SEV-SNP and %d TDX values; the file's matrix (%d vCPU counts × %d CPU types × %d guest features, %d page orders) has %d and %d: a value was dropped or repeated",
				l.key(), len(l.SNP), len(l.TDX), len(m.VCPUs), len(m.SNPCPUTypes), len(m.SNPGuestFeatures), len(m.TDXPageOrders), snp, len(m.TDXPageOrders))
		}
	}
	return m, nil
}

func addOnce[T comparable](seen map[T]bool, list *[]T, v T) {
	if !seen[v] {
		seen[v] = true
		*list = append(*list, v)
	}
}

// parseFeatures reads FormatGuestFeatures' form back, and only that form,
// so one value has one spelling.
func parseFeatures(s string) (uint64, bool) {
	var f uint64
	if _, err := fmt.Sscanf(s, "0x%x", &f); err != nil || FormatGuestFeatures(f) != s {
		return 0, false
	}
	return f, true
}
