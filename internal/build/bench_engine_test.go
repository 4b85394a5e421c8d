//go:build engine

package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/build/session"
	"github.com/guestforge/guestforge/internal/kconfig"
)

// BenchmarkKernelPipelineVsHost times the same kernel (GUESTFORGE_BENCH_ARCH, default the
// host's; test variant) built by the pipeline with every cache off against the shell-script
// way on the host: the identical make commands (kconfig.ConfigCommands on the same merged
// fragment, then `make -j$(nproc)` of the same targets with the same CC and KCFLAGS) on the
// same source, and reports the ratio (goal: at most 1.05). Both include configure and
// compile; the pipeline's one-time work (builder image, source unpack) is done before
// timing starts. The two .config files must be identical, or the comparison is void.
// Iterations alternate which side goes first, so drift in the machine's speed (page cache,
// a neighbour's load) does not always land on the same side.
//
//	hack/bench.sh   (or: GUESTFORGE_BENCH_PAIRS=2 go test -tags engine -run '^$' -bench KernelPipelineVsHost -benchtime 1x ./internal/build/)
func BenchmarkKernelPipelineVsHost(b *testing.B) {
	a, err := arch.Host()
	if name := os.Getenv("GUESTFORGE_BENCH_ARCH"); name != "" {
		a, err = arch.Parse(name)
	}
	if err != nil {
		b.Fatal(err)
	}
	host, _ := arch.Host()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	c, err := session.Connect(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := New(c, nil)
	repo, err := p.LocalRepo(repoRoot)
	if err != nil {
		b.Fatal(err)
	}
	tc := repo.Toolchain
	merged, err := repo.Configs.Merge(a, "test")
	if err != nil {
		b.Fatal(err)
	}

	// Warm everything the timed build does not redo: builder, unpacked source.
	if _, err := p.Kernel(ctx, repo, KernelSpec{Arch: a, Variant: "test"}); err != nil {
		b.Fatal(err)
	}
	archive, err := p.KernelArchive(ctx, tc, "")
	if err != nil {
		b.Fatal(err)
	}
	src := p.dir("bench", "linux-"+tc.Kernel.Version)
	if _, err := os.Stat(filepath.Join(src, "Makefile")); err != nil {
		unpackOnHost(b, archive, src)
	}

	// Pairs come from GUESTFORGE_BENCH_PAIRS with -benchtime 1x rather than from
	// -benchtime Nx: for N > 1 the testing package first runs the function once with
	// b.N = 1 and then again with b.N = N, which here is three more kernel builds.
	pairs := 1
	if v := os.Getenv("GUESTFORGE_BENCH_PAIRS"); v != "" {
		if pairs, err = strconv.Atoi(v); err != nil || pairs < 1 {
			b.Fatalf("GUESTFORGE_BENCH_PAIRS=%q: want a whole number of build pairs, at least 1", v)
		}
	}
	runs := b.N * pairs
	var pipelineTotal, bareTotal time.Duration
	for i := 0; i < runs; i++ {
		var pipeline, bare time.Duration
		var pipelineConfig, bareConfig []byte
		runPipeline := func() {
			start := time.Now()
			k, err := p.Kernel(ctx, repo, KernelSpec{Arch: a, Variant: "test", Nonce: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)})
			if err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			if _, err := k.Dir.Export(ctx, out); err != nil {
				b.Fatal(err)
			}
			pipeline = time.Since(start)
			if pipelineConfig, err = os.ReadFile(filepath.Join(out, a.Name, k.Name(artifact.KernelConfig))); err != nil {
				b.Fatal(err)
			}
		}
		runBare := func() {
			work := b.TempDir()
			obj := filepath.Join(work, "obj")
			fragment := filepath.Join(work, "guestforge.config")
			if err := os.WriteFile(fragment, merged.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
			cross := a.CrossCompile(host)
			vars := kernelMakeVars(cross+"gcc", src, obj)
			build := append(append(kernelMake(a, cross, obj), "-j"+strconv.Itoa(runtime.NumCPU())), kernelTargets(a)...)
			start := time.Now()
			for _, argv := range kconfig.ConfigCommands(a, kconfig.MakeOptions{Fragment: fragment, CrossCompile: cross, ObjDir: obj}) {
				hostMake(b, src, tc.Epoch, append(argv, vars...))
			}
			hostMake(b, src, tc.Epoch, append(build, vars...))
			bare = time.Since(start)
			var err error
			if bareConfig, err = os.ReadFile(filepath.Join(obj, ".config")); err != nil {
				b.Fatal(err)
			}
		}
		if i%2 == 0 {
			runPipeline()
			runBare()
		} else {
			runBare()
			runPipeline()
		}
		b.Logf("%s test kernel, run %d: pipeline %s, bare make %s, ratio %.3f", a.Name, i+1, pipeline.Round(time.Second), bare.Round(time.Second), pipeline.Seconds()/bare.Seconds())
		if diff := configDifference(pipelineConfig, bareConfig); diff != "" {
			b.Fatalf("the pipeline and the host made different .config files from the same fragment, so the timings compare different kernels:\n%s", diff)
		}
		pipelineTotal += pipeline
		bareTotal += bare
	}
	b.ReportMetric(pipelineTotal.Seconds()/float64(runs), "pipeline-s")
	b.ReportMetric(bareTotal.Seconds()/float64(runs), "host-s")
	b.ReportMetric(pipelineTotal.Seconds()/bareTotal.Seconds(), "ratio")
}

// configDifference returns the lines in which two .config files differ, or "" when they
// describe the same kernel. Kconfig records what it probed on the build machine: the
// host's rustc (Debian's builder has none) and pahole (the builder has dwarves, the host
// may not). Those probes only matter when the kernel uses them, so they are set aside
// when neither config enables Rust or BTF and compared like everything else otherwise.
func configDifference(pipeline, host []byte) string {
	usesProbes := func(cfg []byte) bool {
		return bytes.Contains(cfg, []byte("\nCONFIG_RUST=y\n")) || bytes.Contains(cfg, []byte("\nCONFIG_DEBUG_INFO_BTF=y\n"))
	}
	ignoreProbes := !usesProbes(pipeline) && !usesProbes(host)
	lines := func(cfg []byte) map[string]bool {
		set := map[string]bool{}
		for _, line := range strings.Split(string(cfg), "\n") {
			if ignoreProbes && (strings.HasPrefix(line, "CONFIG_RUSTC_") || strings.HasPrefix(line, "CONFIG_PAHOLE_VERSION=")) {
				continue
			}
			set[line] = true
		}
		return set
	}
	p, h := lines(pipeline), lines(host)
	var diff []string
	for line := range p {
		if !h[line] {
			diff = append(diff, "pipeline: "+line)
		}
	}
	for line := range h {
		if !p[line] {
			diff = append(diff, "host:     "+line)
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, "\n")
}

func unpackOnHost(b *testing.B, archive, dst string) {
	b.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	script := `set -eu; tar -xf "$1" -C "$2" --strip-components=1`
	if strings.HasSuffix(archive, ".deb") {
		script = `set -eu; dpkg-deb --fsys-tarfile "$1" | tar -xO --wildcards './usr/src/linux-source-*.tar.*' | tar -xJ -C "$2" --strip-components=1`
	}
	if out, err := exec.Command("sh", "-c", script, "sh", archive, dst).CombinedOutput(); err != nil {
		os.RemoveAll(dst)
		b.Fatalf("unpack %s on the host: %v\n%s", archive, err, out)
	}
}

// hostMake runs argv (a make command line) in src with the pipeline's reproducibility
// environment. -s keeps the host from paying for output the pipeline does pay for (its
// make prints every CC line into the engine's log): if anything, this favours the host.
func hostMake(b *testing.B, src string, epoch int64, argv []string) {
	b.Helper()
	cmd := exec.Command(argv[0], append([]string{"-s"}, argv[1:]...)...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch, 10),
		"KBUILD_BUILD_TIMESTAMP="+time.Unix(epoch, 0).UTC().Format(time.UnixDate),
		"KBUILD_BUILD_USER=guestforge", "KBUILD_BUILD_HOST=guestforge", "KBUILD_BUILD_VERSION=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s on the host: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// The benchmark's comparison must tell a probe of the build machine from a different
// kernel, or it would either void every run on a host with rustc or hide a real change.
func TestConfigDifference(t *testing.T) {
	builder := []byte("CONFIG_CC_VERSION_TEXT=\"gcc 12\"\nCONFIG_RUSTC_VERSION=0\nCONFIG_PAHOLE_VERSION=124\nCONFIG_VIRTIO=y\n")
	host := []byte("CONFIG_CC_VERSION_TEXT=\"gcc 12\"\nCONFIG_RUSTC_VERSION=109500\nCONFIG_RUSTC_HAS_UNNECESSARY_TRANSMUTES=y\nCONFIG_PAHOLE_VERSION=0\nCONFIG_VIRTIO=y\n")
	if d := configDifference(builder, host); d != "" {
		t.Errorf("probe-only difference reported:\n%s", d)
	}
	other := bytes.Replace(host, []byte("CONFIG_VIRTIO=y"), []byte("# CONFIG_VIRTIO is not set"), 1)
	if d, want := configDifference(builder, other), "host:     # CONFIG_VIRTIO is not set\npipeline: CONFIG_VIRTIO=y"; d != want {
		t.Errorf("difference = %q, want %q", d, want)
	}
	btf := append([]byte("\nCONFIG_DEBUG_INFO_BTF=y\n"), builder...)
	if d := configDifference(btf, append([]byte("\nCONFIG_DEBUG_INFO_BTF=y\n"), host...)); !strings.Contains(d, "CONFIG_PAHOLE_VERSION=0") {
		t.Errorf("with BTF on, a pahole difference must count; got %q", d)
	}
}
