//go:build boot

package build

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/testenv"
)

// BenchmarkBootToProbe times QEMU from its start to the boot probe's line for a kernel
// and initrd a build placed in dist (GUESTFORGE_BENCH_KERNEL, GUESTFORGE_BENCH_INITRD;
// arch GUESTFORGE_BENCH_ARCH, default the host's). It is a benchmark, not a test: it
// only runs with -bench, so the boot tier does not pay for it. hack/bench.sh runs it
// on what its warm rebuild made:
//
//	GUESTFORGE_BENCH_KERNEL=dist/x86_64/vmlinuz-... GUESTFORGE_BENCH_INITRD=dist/x86_64/initrd-default.img \
//	  go test -tags boot -run '^$' -bench BootToProbe -benchtime 1x ./internal/build/
func BenchmarkBootToProbe(b *testing.B) {
	kernel, initrd := os.Getenv("GUESTFORGE_BENCH_KERNEL"), os.Getenv("GUESTFORGE_BENCH_INITRD")
	if kernel == "" || initrd == "" {
		b.Fatal("set GUESTFORGE_BENCH_KERNEL and GUESTFORGE_BENCH_INITRD to a kernel and initrd of a build (hack/bench.sh does)")
	}
	a, err := arch.Host()
	if name := os.Getenv("GUESTFORGE_BENCH_ARCH"); name != "" {
		a, err = arch.Parse(name)
	}
	if err != nil {
		b.Fatal(err)
	}
	testenv.RequireTool(b, a.QEMUSystem)
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err := boot.Run(ctx, boot.Config{Arch: a, Kernel: kernel, Initrd: initrd, Marker: boot.OKMarker})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(res.Line, "arch="+a.Name) {
			b.Fatalf("probe line %q does not name %s", res.Line, a.Name)
		}
		b.ReportMetric(res.Duration.Seconds(), "boot-s")
		b.Logf("%s: %s (%s)", a.Name, res.Line, res.Duration.Round(time.Millisecond))
	}
}
