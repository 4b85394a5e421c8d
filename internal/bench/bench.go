// Package bench turns what hack/bench.sh measured into one table and bench.json:
// initrd packing against find | cpio | gzip -9, the kernel pipeline against a bare
// make -j of the same config, a warm no-change rebuild of a matrix, the QEMU boot
// time to the probe line, and artifact sizes against the image size budgets. Each
// ratio compares numbers measured in the same run; nothing here measures.
package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Schema identifies bench.json.
const Schema = "guestforge.bench/v1"

// KernelGoal is the ratio the kernel pipeline must stay under (issue 4).
const KernelGoal = 1.05

// Bench is bench.json.
type Bench struct {
	Schema string  `json:"schema"`
	Host   Host    `json:"host"`
	Initrd *Initrd `json:"initrd,omitempty"`
	Kernel *Kernel `json:"kernel,omitempty"`
	Warm   *Warm   `json:"warm_rebuild,omitempty"`
	Boot   *Boot   `json:"boot,omitempty"`
	Sizes  []Size  `json:"sizes,omitempty"`
	// Skipped says why a part was not measured, by part name.
	Skipped map[string]string `json:"skipped,omitempty"`
}

// Host is the machine the numbers come from: on a shared CI machine the load
// matters as much as the CPU count.
type Host struct {
	CPUs int    `json:"cpus"`
	Load string `json:"load,omitempty"`
	Date string `json:"date,omitempty"`
}

// Packer is one way of packing the initrd tree, best of Runs.
type Packer struct {
	Name  string  `json:"name"`
	WallS float64 `json:"wall_s"`
	CPUS  float64 `json:"cpu_s"`
	Bytes int64   `json:"bytes"`
	// Against the baseline (find | cpio | gzip -9): >1 is faster / more CPU-frugal;
	// SizeRatio <1 is smaller.
	Speedup    float64 `json:"speedup,omitempty"`
	CPUSpeedup float64 `json:"cpu_speedup,omitempty"`
	SizeRatio  float64 `json:"size_ratio,omitempty"`
}

// Initrd compares `release initrd` with what Kata's osbuilder runs.
type Initrd struct {
	Tree      string   `json:"tree"`
	TreeBytes int64    `json:"tree_bytes"`
	Entries   int      `json:"entries"`
	Runs      int      `json:"runs"`
	Baseline  Packer   `json:"baseline"`
	Ours      []Packer `json:"ours"`
}

// Kernel compares the pipeline's kernel build with a bare host make -j of the same
// .config and source (BenchmarkKernelPipelineVsHost).
type Kernel struct {
	Arch      string  `json:"arch"`
	Variant   string  `json:"variant"`
	PipelineS float64 `json:"pipeline_s"`
	HostS     float64 `json:"host_s"`
	Ratio     float64 `json:"ratio"`
	Goal      float64 `json:"goal"`
}

// Warm is a rebuild of a matrix with nothing changed, after one that built it.
type Warm struct {
	Arch    string  `json:"arch"`
	Kernels string  `json:"kernels"` // test, or targets (every target variant)
	Seconds float64 `json:"seconds"`
	Jobs    int     `json:"jobs"`
	// Slowest is the job that took longest in the warm run, what to speed up next.
	Slowest  string  `json:"slowest,omitempty"`
	SlowestS float64 `json:"slowest_s,omitempty"`
}

// Boot is QEMU (TCG here) from start to the probe's line.
type Boot struct {
	Arch    string  `json:"arch"`
	Kernel  string  `json:"kernel"`
	Initrd  string  `json:"initrd"`
	Seconds float64 `json:"seconds"`
}

// Size is one image artifact against its image's budget.
type Size struct {
	Arch   string `json:"arch"`
	Image  string `json:"image"`
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Bytes  int64  `json:"bytes"`
	Budget string `json:"budget,omitempty"`
	// BudgetBytes bounds the uncompressed rootfs content (images/<name>.yaml); the
	// ext4 image adds metadata and headroom, the initrd is compressed.
	BudgetBytes int64   `json:"budget_bytes,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
}

// ReadRaw reads the measurements hack/bench.sh writes, one per line:
//
//	<part> key=value ...      (a measurement; values hold no spaces)
//	skipped <part> <reason>   (a part that was not measured, and why)
//
// Blank lines and lines starting with # are ignored. Errors name file:line.
func ReadRaw(name string, r io.Reader) (*Bench, error) {
	b := &Bench{Schema: Schema}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if fields[0] == "skipped" {
			if len(fields) < 3 {
				return nil, fmt.Errorf("%s:%d: want `skipped <part> <reason>`", name, n)
			}
			if b.Skipped == nil {
				b.Skipped = map[string]string{}
			}
			b.Skipped[fields[1]] = strings.Join(fields[2:], " ")
			continue
		}
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s:%d: %q is not key=value", name, n, f)
			}
			kv[k] = v
		}
		if err := b.apply(fields[0], kv); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	b.derive()
	return b, nil
}

// ReadRawFile is ReadRaw of a file.
func ReadRawFile(path string) (*Bench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRaw(path, f)
}

// fields reads the named keys of kv into the pointers, all required.
type fields map[string]string

func (kv fields) str(k string, dst *string) error {
	v, ok := kv[k]
	if !ok || v == "" {
		return fmt.Errorf("missing %s=", k)
	}
	*dst = v
	return nil
}

func (kv fields) float(k string, dst *float64) error {
	var s string
	if err := kv.str(k, &s); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%s=%q is not a non-negative number", k, s)
	}
	*dst = v
	return nil
}

func (kv fields) int64(k string, dst *int64) error {
	var s string
	if err := kv.str(k, &s); err != nil {
		return err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%s=%q is not a non-negative integer", k, s)
	}
	*dst = v
	return nil
}

func (kv fields) int(k string, dst *int) error {
	var v int64
	if err := kv.int64(k, &v); err != nil {
		return err
	}
	*dst = int(v)
	return nil
}

func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (b *Bench) apply(part string, raw map[string]string) error {
	kv := fields(raw)
	switch part {
	case "host":
		// The load average is written with commas for spaces (one field).
		b.Host.Load = strings.ReplaceAll(kv["load"], ",", " ")
		return first(kv.int("cpus", &b.Host.CPUs), kv.str("date", &b.Host.Date))
	case "initrd":
		if b.Initrd == nil {
			b.Initrd = &Initrd{}
		}
		return first(kv.str("tree", &b.Initrd.Tree), kv.int64("tree_bytes", &b.Initrd.TreeBytes),
			kv.int("entries", &b.Initrd.Entries), kv.int("runs", &b.Initrd.Runs))
	case "initrd.packer":
		if b.Initrd == nil {
			b.Initrd = &Initrd{}
		}
		var p Packer
		if err := first(kv.str("name", &p.Name), kv.float("wall", &p.WallS), kv.float("cpu", &p.CPUS), kv.int64("bytes", &p.Bytes)); err != nil {
			return err
		}
		if kv["baseline"] == "true" {
			b.Initrd.Baseline = p
		} else {
			b.Initrd.Ours = append(b.Initrd.Ours, p)
		}
		return nil
	case "kernel":
		k := &Kernel{Goal: KernelGoal}
		b.Kernel = k
		return first(kv.str("arch", &k.Arch), kv.str("variant", &k.Variant), kv.float("pipeline_s", &k.PipelineS),
			kv.float("host_s", &k.HostS), kv.float("ratio", &k.Ratio))
	case "warm":
		w := &Warm{}
		b.Warm = w
		return first(kv.str("arch", &w.Arch), kv.str("kernels", &w.Kernels), kv.float("seconds", &w.Seconds))
	case "boot":
		bt := &Boot{}
		b.Boot = bt
		return first(kv.str("arch", &bt.Arch), kv.str("kernel", &bt.Kernel), kv.str("initrd", &bt.Initrd), kv.float("seconds", &bt.Seconds))
	}
	return fmt.Errorf("unknown part %q (host, initrd, initrd.packer, kernel, warm, boot, skipped)", part)
}

// derive computes the initrd ratios, all against the baseline of the same run.
func (b *Bench) derive() {
	if b.Initrd == nil {
		return
	}
	base := b.Initrd.Baseline
	for i := range b.Initrd.Ours {
		p := &b.Initrd.Ours[i]
		p.Speedup = ratio(base.WallS, p.WallS)
		p.CPUSpeedup = ratio(base.CPUS, p.CPUS)
		p.SizeRatio = ratio(float64(p.Bytes), float64(base.Bytes))
	}
	slices.SortStableFunc(b.Initrd.Ours, func(a, c Packer) int { return strings.Compare(a.Name, c.Name) })
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}
