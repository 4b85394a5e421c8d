//go:build engine

package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/session"
)

// BenchmarkKernelPipelineVsHost times the same kernel (GUESTFORGE_BENCH_ARCH, default the
// host's; test variant) built by the pipeline with every cache off against a bare
// `make olddefconfig && make -j$(nproc)` of the identical .config and source on the host,
// and reports the ratio (goal: at most 1.05). Both include configure and compile; the
// pipeline's one-time work (builder image, source unpack) is done before timing starts.
//
//	hack/bench.sh   (or: go test -tags engine -run '^$' -bench KernelPipelineVsHost -benchtime 1x ./internal/build/)
func BenchmarkKernelPipelineVsHost(b *testing.B) {
	a, err := arch.Host()
	if name := os.Getenv("GUESTFORGE_BENCH_ARCH"); name != "" {
		a, err = arch.Parse(name)
	}
	if err != nil {
		b.Fatal(err)
	}
	host, _ := arch.Host()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
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

	for i := 0; i < b.N; i++ {
		start := time.Now()
		k, err := p.Kernel(ctx, repo, KernelSpec{Arch: a, Variant: "test", Nonce: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)})
		if err != nil {
			b.Fatal(err)
		}
		out := b.TempDir()
		if _, err := k.Dir.Export(ctx, out); err != nil {
			b.Fatal(err)
		}
		pipeline := time.Since(start)

		obj := b.TempDir()
		cfg, err := os.ReadFile(filepath.Join(out, a.Name, "config-"+k.Release+"-"+k.ConfigID))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(obj, ".config"), cfg, 0o644); err != nil {
			b.Fatal(err)
		}
		common := []string{"ARCH=" + a.KernelArch, "O=" + obj}
		if cc := a.CrossCompile(host); cc != "" {
			common = append(common, "CROSS_COMPILE="+cc)
		}
		targets := []string{"vmlinux"}
		if a.KernelTarget != "vmlinux" {
			targets = append(targets, a.KernelTarget)
		}
		start = time.Now()
		hostMake(b, src, tc.Epoch, append(common, "olddefconfig"))
		hostMake(b, src, tc.Epoch, append(append(common, "-j"+strconv.Itoa(runtime.NumCPU())), targets...))
		bare := time.Since(start)
		b.ReportMetric(pipeline.Seconds(), "pipeline-s")
		b.ReportMetric(bare.Seconds(), "host-s")
		b.ReportMetric(pipeline.Seconds()/bare.Seconds(), "ratio")
		b.Logf("%s test kernel: pipeline %s, bare make %s, ratio %.3f", a.Name, pipeline.Round(time.Second), bare.Round(time.Second), pipeline.Seconds()/bare.Seconds())
	}
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

func hostMake(b *testing.B, src string, epoch int64, args []string) {
	b.Helper()
	cmd := exec.Command("make", append([]string{"-s"}, args...)...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch, 10),
		"KBUILD_BUILD_TIMESTAMP="+time.Unix(epoch, 0).UTC().Format(time.UnixDate),
		"KBUILD_BUILD_USER=guestforge", "KBUILD_BUILD_HOST=guestforge", "KBUILD_BUILD_VERSION=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("make %s on the host: %v\n%s", strings.Join(args, " "), err, out)
	}
}
