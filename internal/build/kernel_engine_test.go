//go:build engine

// Engine tier: the kernel pipeline against a real Dagger engine. Run with
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags engine -run Kernel ./internal/build/
//
// CI time: the builder image is built once per machine (cached under
// /var/cache/guestforge/images), the x86_64 test kernel twice: once through the normal
// cached path (a cache hit on a warm machine) and once with every cache off (about 7
// minutes on 2 cores, every run), whose files must be byte-identical; the aarch64 test
// kernel once (cached when warm).
package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/build/session"
	"github.com/guestforge/guestforge/internal/sha256sum"
	"github.com/guestforge/guestforge/internal/testenv"
)

const repoRoot = "../.."

func enginePipeline(t *testing.T) (*Pipeline, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	t.Cleanup(cancel)
	c, err := session.Connect(ctx, testenv.ProgressLog(t, 80))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return New(c, testLog{t}), ctx
}

// testLog sends pipeline log records to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// exported builds the kernel for spec and exports it to a temporary directory.
func exported(t *testing.T, p *Pipeline, ctx context.Context, spec KernelSpec) (*Kernel, string, time.Duration) {
	t.Helper()
	repo, err := p.LocalRepo(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	k, err := p.Kernel(ctx, repo, spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := k.Dir.Export(ctx, dir); err != nil {
		t.Fatal(err)
	}
	return k, dir, time.Since(start)
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	sum, _, err := sha256sum.File(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// cachedX86 is the x86_64 test kernel through the normal (cached) path, shared by the
// tests that need one.
var cachedX86 struct {
	once sync.Once
	k    *Kernel
	sums map[string]string // file -> sha256; the export directory dies with its test
	took time.Duration
}

func TestKernelX86TestVariant(t *testing.T) {
	p, ctx := enginePipeline(t)
	a := arch.MustParse("x86_64")
	k, dir, took := exported(t, p, ctx, KernelSpec{Arch: a, Variant: "test"})
	t.Logf("x86_64 test kernel %s-%s in %s", k.Release, k.ConfigID, took.Round(time.Second))

	name := regexp.MustCompile(`^x86_64/(vmlinux|vmlinuz|config|System\.map)-6\.12\.117-[0-9a-f]{12}$`)
	if len(k.Files) != 4 {
		t.Fatalf("files = %v, want vmlinux, vmlinuz, config, System.map", k.Files)
	}
	for _, f := range k.Files {
		if !name.MatchString(f) {
			t.Errorf("%s does not follow docs/architecture.md's <file>-<kver>-<cfg> naming", f)
		}
	}
	vmlinux, err := elf.Open(filepath.Join(dir, "x86_64", k.Name(artifact.Kernel)))
	if err != nil {
		t.Fatal(err)
	}
	defer vmlinux.Close()
	if vmlinux.Machine != a.ELFMachine {
		t.Fatalf("vmlinux machine %v, want %v", vmlinux.Machine, a.ELFMachine)
	}
	bz, err := os.ReadFile(filepath.Join(dir, "x86_64", k.Name(artifact.KernelImage)))
	if err != nil {
		t.Fatal(err)
	}
	// The x86 boot protocol header: "HdrS" at 0x202.
	if len(bz) < 0x206 || string(bz[0x202:0x206]) != "HdrS" {
		t.Fatal("vmlinuz is not an x86 bzImage (no HdrS boot header)")
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "x86_64", k.Name(artifact.KernelConfig)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CONFIG_VIRTIO_BLK=y", "CONFIG_BLK_DEV_INITRD=y"} {
		if !bytes.Contains(cfg, []byte(want+"\n")) {
			t.Errorf("config lacks %s", want)
		}
	}
	// KBUILD_BUILD_* come from the epoch, not from the machine or the clock.
	if !bytes.Contains(bz, []byte("guestforge@guestforge")) || !bytes.Contains(bz, []byte("2026")) {
		t.Error("the version string does not carry KBUILD_BUILD_USER/HOST/TIMESTAMP from the epoch")
	}

	// Nothing changed: the whole job is a cache hit.
	_, _, again := exported(t, p, ctx, KernelSpec{Arch: a, Variant: "test"})
	t.Logf("second build (no change): %s", again.Round(time.Millisecond))
	if again > 10*time.Second {
		t.Errorf("a rebuild with no change took %s, want a cache hit under 10 s", again)
	}
	cachedX86.once.Do(func() {
		sums := map[string]string{}
		for _, f := range k.Files {
			sums[f] = sha256File(t, filepath.Join(dir, f))
		}
		cachedX86.k, cachedX86.sums, cachedX86.took = k, sums, took
	})
}

// TestKernelReproducible rebuilds the x86_64 test kernel with the engine cache and ccache
// off, perturbed, and compares it with the normal build. On a fresh machine (CI) both are builds from
// scratch; on a warm one the normal build may come from caches that an earlier build
// from scratch filled, which is the same claim.
func TestKernelReproducible(t *testing.T) {
	if cachedX86.k == nil {
		t.Run("normal", TestKernelX86TestVariant)
	}
	if cachedX86.k == nil {
		t.Fatal("the normal x86_64 build failed")
	}
	p, ctx := enginePipeline(t)
	// The cache-disabled build also runs perturbed, as the second build of `release
	// repro` does: another umask and locale in the builder (the kernel pins TZ and
	// LC_ALL itself, and its /src and /build paths by design).
	pt := DefaultPerturbation()
	p.Perturb = &pt
	nonce := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	k, dir, took := exported(t, p, ctx, KernelSpec{Arch: arch.MustParse("x86_64"), Variant: "test", Nonce: nonce})
	t.Logf("cache-disabled x86_64 build: %s", took.Round(time.Second))
	if !slices.Equal(k.Files, cachedX86.k.Files) {
		t.Fatalf("the cache-disabled build made %v, the normal one %v", k.Files, cachedX86.k.Files)
	}
	for _, f := range k.Files {
		a, b := cachedX86.sums[f], sha256File(t, filepath.Join(dir, f))
		if a != b {
			t.Errorf("%s differs between builds: %s vs %s", f, a, b)
		} else {
			t.Logf("%s sha256 %s (identical)", f, a)
		}
	}
}

// TestKernelAarch64TestVariant cross-compiles the aarch64 test kernel on this engine:
// the one foreign arch CI builds (s390x and ppc64le go through the same code path;
// `release build --arch` builds them by hand). The arm64 Image header carries the magic
// "ARM\x64" at 0x38, and vmlinux must be an AArch64 ELF.
//
// CI cost: a cache hit on a warm machine; about 7 minutes on 2 cores when fresh.
func TestKernelAarch64TestVariant(t *testing.T) {
	p, ctx := enginePipeline(t)
	a := arch.MustParse("aarch64")
	k, dir, took := exported(t, p, ctx, KernelSpec{Arch: a, Variant: "test"})
	t.Logf("aarch64 test kernel %s-%s in %s", k.Release, k.ConfigID, took.Round(time.Second))
	img, err := os.ReadFile(filepath.Join(dir, "aarch64", k.Name(artifact.KernelImage)))
	if err != nil {
		t.Fatal(err)
	}
	if len(img) < 0x3c || string(img[0x38:0x3c]) != "ARM\x64" {
		t.Fatal("aarch64 vmlinuz is not an arm64 Image (no ARM\\x64 magic at 0x38)")
	}
	vmlinux, err := elf.Open(filepath.Join(dir, "aarch64", k.Name(artifact.Kernel)))
	if err != nil {
		t.Fatal(err)
	}
	defer vmlinux.Close()
	if vmlinux.Machine != a.ELFMachine {
		t.Fatalf("vmlinux machine %v, want %v", vmlinux.Machine, a.ELFMachine)
	}
}

func TestKernelArchiveMismatchFailsBeforeBuilding(t *testing.T) {
	p, ctx := enginePipeline(t)
	p.CacheDir = t.TempDir() // an empty cache: anything built would land here
	repo, err := p.LocalRepo(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "linux-source-6.12.deb")
	if err := os.WriteFile(fake, []byte("not the pinned kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Kernel(ctx, repo, KernelSpec{Arch: arch.MustParse("x86_64"), Variant: "test", Archive: fake})
	var mm *SHA256Mismatch
	if !errors.As(err, &mm) {
		t.Fatalf("want a sha256 mismatch, got %v", err)
	}
	if mm.Want != repo.Toolchain.Kernel.SHA256 || !strings.Contains(err.Error(), mm.Got) || !strings.Contains(err.Error(), mm.Want) {
		t.Fatalf("error must name both digests: %v", err)
	}
	if entries, _ := os.ReadDir(p.CacheDir); len(entries) != 0 {
		t.Fatalf("something was built or fetched before the check: %v", entries)
	}
	t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestKernelDroppedSymbolNamesSymbolAndFragment(t *testing.T) {
	p, ctx := enginePipeline(t)
	root := t.TempDir()
	copyTree(t, filepath.Join(repoRoot, ConfigsDir), filepath.Join(root, ConfigsDir))
	copyTree(t, filepath.Join(repoRoot, "builders"), filepath.Join(root, "builders")) // the kernel builder's lock
	data, err := os.ReadFile(filepath.Join(repoRoot, ToolchainFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ToolchainFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// HD audio needs SND and PCI sound support, which the test kernel never has:
	// olddefconfig drops the request.
	frag := filepath.Join(root, ConfigsDir, "variants", "test", "zz-dropped.conf")
	if err := os.WriteFile(frag, []byte("# asks for a symbol Kconfig cannot keep\nCONFIG_SND_HDA_INTEL=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := p.LocalRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Kernel(ctx, repo, KernelSpec{Arch: arch.MustParse("x86_64"), Variant: "test"})
	if err == nil {
		t.Fatal("a dropped symbol built")
	}
	for _, want := range []string{"CONFIG_SND_HDA_INTEL", "variants/test/zz-dropped.conf:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
