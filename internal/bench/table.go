package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/guestforge/guestforge/internal/safepath"
)

// Table prints every part in one table: what was measured, what it is compared
// with, and the ratio; parts not measured are listed with the reason.
func (b *Bench) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("PART", "BENCHMARK", "OURS", "AGAINST", "RATIO")
	if in := b.Initrd; in != nil {
		base := in.Baseline
		for _, p := range in.Ours {
			row("initrd", fmt.Sprintf("%s vs find|cpio|gzip -9 (%d entries, best of %d)", p.Name, in.Entries, in.Runs),
				fmt.Sprintf("%.2f s, %.2f s cpu, %s", p.WallS, p.CPUS, mib(p.Bytes)),
				fmt.Sprintf("%.2f s, %.2f s cpu, %s", base.WallS, base.CPUS, mib(base.Bytes)),
				fmt.Sprintf("%.2fx faster, %.2fx cpu, size %.3f", p.Speedup, p.CPUSpeedup, p.SizeRatio))
		}
	}
	if k := b.Kernel; k != nil {
		verdict := "met"
		if k.Ratio > k.Goal {
			verdict = "NOT met"
		}
		row("kernel", fmt.Sprintf("%s/%s: pipeline vs bare make -j, same .config", k.Arch, k.Variant),
			fmt.Sprintf("%.0f s", k.PipelineS), fmt.Sprintf("%.0f s", k.HostS),
			fmt.Sprintf("%.3f (goal <= %.2f: %s)", k.Ratio, k.Goal, verdict))
	}
	if wr := b.Warm; wr != nil {
		against := ""
		if wr.Slowest != "" {
			against = fmt.Sprintf("slowest job %s %.1f s", wr.Slowest, wr.SlowestS)
		}
		row("warm", fmt.Sprintf("no-change rebuild, %s matrix (%s kernels), %d jobs", wr.Arch, wr.Kernels, wr.Jobs),
			fmt.Sprintf("%.1f s", wr.Seconds), against, "")
	}
	if bt := b.Boot; bt != nil {
		row("boot", fmt.Sprintf("QEMU to the probe line, %s: %s + %s", bt.Arch, bt.Kernel, bt.Initrd),
			fmt.Sprintf("%.1f s", bt.Seconds), "", "")
	}
	for _, s := range b.Sizes {
		against, r := "no budget", ""
		if s.BudgetBytes > 0 {
			against, r = "budget "+s.Budget+" (rootfs content)", fmt.Sprintf("%.2f", s.Ratio)
		}
		row("size", s.Arch+"/"+s.File, mib(s.Bytes), against, r)
	}
	for _, part := range slices.Sorted(maps.Keys(b.Skipped)) {
		row(part, "not measured: "+b.Skipped[part], "", "", "")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if b.Host.CPUs > 0 {
		_, err := fmt.Fprintf(w, "host: %d CPUs, load %s, %s\n", b.Host.CPUs, b.Host.Load, b.Host.Date)
		return err
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// WriteJSON writes bench.json.
func (b *Bench) WriteJSON(path string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return safepath.WriteBytes(path, 0o644, append(data, '\n'))
}
