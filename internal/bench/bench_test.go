package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/report"
)

const raw = `# measured by hack/bench.sh
host cpus=2 load=1.28,1.71,2.29 date=2026-11-23T03:00:00Z
initrd tree=/var/cache/guestforge/fixtures/minbase.tree tree_bytes=134217728 entries=6834 runs=3
initrd.packer name=find|cpio|gzip-9 baseline=true wall=12.00 cpu=11.50 bytes=40000000
initrd.packer name=release-initrd-zstd wall=3.00 cpu=5.75 bytes=36000000
initrd.packer name=release-initrd-gzip wall=4.00 cpu=7.00 bytes=39000000
warm arch=x86_64 kernels=test seconds=33.8
boot arch=x86_64 kernel=vmlinuz-6.12.117-ec659828327b initrd=initrd-default.img seconds=6.4
skipped kernel BENCH_SKIP=kernel: it builds the kernel twice
`

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReadRawDerivesRatiosFromTheSameRun(t *testing.T) {
	b, err := ReadRaw("raw.txt", strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b.Host.CPUs != 2 || b.Host.Load != "1.28 1.71 2.29" {
		t.Errorf("host = %+v", b.Host)
	}
	in := b.Initrd
	if in == nil || in.Baseline.Name != "find|cpio|gzip-9" || len(in.Ours) != 2 || in.Entries != 6834 {
		t.Fatalf("initrd = %+v", in)
	}
	gz, zs := in.Ours[0], in.Ours[1] // sorted by name
	if zs.Name != "release-initrd-zstd" || !near(zs.Speedup, 4) || !near(zs.CPUSpeedup, 2) || !near(zs.SizeRatio, 0.9) {
		t.Errorf("zstd = %+v, want 4x faster, 2x cpu, size 0.9", zs)
	}
	if !near(gz.Speedup, 3) || !near(gz.SizeRatio, 0.975) {
		t.Errorf("gzip = %+v", gz)
	}
	if b.Kernel != nil || b.Skipped["kernel"] != "BENCH_SKIP=kernel: it builds the kernel twice" {
		t.Errorf("kernel = %+v, skipped = %v", b.Kernel, b.Skipped)
	}
	if b.Warm.Seconds != 33.8 || b.Boot.Seconds != 6.4 {
		t.Errorf("warm %+v boot %+v", b.Warm, b.Boot)
	}
}

func TestReadRawErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"warm arch=x86_64 kernels=test\n":                     "raw.txt:1: missing seconds=",
		"\nboot arch=x86_64 seconds=fast kernel=k initrd=i\n": `raw.txt:2: seconds="fast" is not a non-negative number`,
		"kernel arch x86_64\n":                                `raw.txt:1: "arch" is not key=value`,
		"bogus a=b\n":                                         `raw.txt:1: unknown part "bogus"`,
		"skipped kernel\n":                                    "raw.txt:1: want `skipped <part> <reason>`",
	} {
		if _, err := ReadRaw("raw.txt", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func TestSizesAgainstBudgetsAndTable(t *testing.T) {
	b, err := ReadRaw("raw.txt", strings.NewReader(raw+"kernel arch=x86_64 variant=test pipeline_s=630 host_s=600 ratio=1.05\n"))
	if err != nil {
		t.Fatal(err)
	}
	images := t.TempDir()
	def := "name: default\ndistro: {name: debian, suite: bookworm}\ninit: agent\nagent: {bootprobe: true}\npackages: [kmod]\nbudget: 160MiB\n"
	if err := os.WriteFile(filepath.Join(images, "default.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &report.Report{
		Steps: []report.Step{{ID: "initrd/x86_64/default", DurationMS: 17664}, {ID: "kernel/x86_64/test", DurationMS: 602}},
		Artifacts: []report.Artifact{
			{Arch: "x86_64", Image: "default", Name: "rootfs-default.img", Kind: "rootfs", Size: 160 << 20},
			{Arch: "x86_64", Image: "default", Name: "initrd-default.img", Kind: "initrd", Size: 40 << 20},
			{Arch: "x86_64", Image: "default", Name: "rootfs-default.img.verity", Kind: "verity", Size: 1 << 20},
			{Arch: "x86_64", Image: "elsewhere", Name: "initrd-elsewhere.img", Kind: "initrd", Size: 1 << 20},
			{Arch: "x86_64", Variant: "test", Name: "vmlinuz-6.12.117-ec659828327b", Kind: "vmlinuz", Size: 2 << 20},
		},
	}
	if err := b.FromReport(r, images); err != nil {
		t.Fatal(err)
	}
	if b.Warm.Jobs != 2 || b.Warm.Slowest != "initrd/x86_64/default" || b.Warm.SlowestS != 17.664 {
		t.Errorf("warm = %+v", b.Warm)
	}
	if len(b.Sizes) != 3 || b.Sizes[0].Ratio != 1 || b.Sizes[1].Ratio != 0.25 || b.Sizes[2].BudgetBytes != 0 {
		t.Fatalf("sizes = %+v: want rootfs 1.00 and initrd 0.25 of 160MiB, the image without a definition without a budget", b.Sizes)
	}
	var out bytes.Buffer
	if err := b.Table(&out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{
		"release-initrd-zstd vs find|cpio|gzip -9 (6834 entries, best of 3)",
		"4.00x faster, 2.00x cpu, size 0.900",
		"x86_64/test: pipeline vs bare make -j, same .config",
		"1.050 (goal <= 1.05: met)",
		"no-change rebuild, x86_64 matrix (test kernels), 2 jobs",
		"slowest job initrd/x86_64/default 17.7 s",
		"QEMU to the probe line, x86_64: vmlinuz-6.12.117-ec659828327b + initrd-default.img",
		"x86_64/rootfs-default.img", "budget 160MiB (rootfs content)",
		"host: 2 CPUs, load 1.28 1.71 2.29",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Count(strings.Split(table, "\n")[0], "PART") != 1 {
		t.Errorf("no header line:\n%s", table)
	}
	file := filepath.Join(t.TempDir(), "dist", "bench.json")
	if err := b.WriteJSON(file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var back Bench
	if err := json.Unmarshal(data, &back); err != nil || back.Schema != Schema || back.Kernel.Ratio != 1.05 || len(back.Sizes) != 3 {
		t.Errorf("bench.json round trip: %v %+v", err, back)
	}
}
