package build

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/kconfig"
)

// KernelSpec is one guest kernel build.
type KernelSpec struct {
	Arch    arch.Arch
	Variant string // a kernel-configs/variants/ name, or "default"
	// Archive is a local copy of the pinned kernel archive (offline hosts); empty means
	// download toolchain.yaml's kernel.url. Either way it must match kernel.sha256.
	Archive string
	// Nonce, when set, makes every step after the source unpack unique, so the engine
	// re-runs configure and make, and turns ccache off: the cache-disabled build that
	// reproducibility is proven with.
	Nonce string
}

// Kernel is a built kernel.
type Kernel struct {
	// Dir holds <arch>/{vmlinux,vmlinuz,config,System.map}-<release>-<config id>, the
	// layout of dist/<version>/ (vmlinuz is absent where the arch boots the ELF vmlinux).
	Dir      *dagger.Directory
	Release  string // make kernelrelease, e.g. 6.12.117
	ConfigID string
	Files    []string // paths in Dir
}

// Name is the file name of one of k's files (an artifact kernel kind): the
// vmlinuz of k is k.Name(artifact.KernelImage).
func (k *Kernel) Name(kind artifact.Kind) string {
	return artifact.KernelName(kind, k.Release, k.ConfigID)
}

// Fixed paths inside the build container. Fixed paths are half of reproducibility: no
// host or random directory can reach the binaries.
const (
	srcPath      = "/src"
	objPath      = "/build"
	fragmentPath = "/work/guestforge.config"
)

// Kernel builds the kernel for spec from repo: verify the pinned archive, merge the
// fragments, configure, prove every requested symbol survived, build.
func (p *Pipeline) Kernel(ctx context.Context, repo *Repo, spec KernelSpec) (*Kernel, error) {
	tc := repo.Toolchain
	// The archive is checked first: a wrong pin must fail before anything is built.
	archive, err := p.KernelArchive(ctx, tc, spec.Archive)
	if err != nil {
		return nil, err
	}
	merged, err := repo.Configs.Merge(spec.Arch, spec.Variant)
	if err != nil {
		return nil, err
	}
	series, err := kconfig.Series(tc.Kernel.Version)
	if err != nil {
		return nil, err
	}
	allow, err := repo.Configs.Allowlist(series)
	if err != nil {
		return nil, err
	}
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	bspec, err := BuilderFromRepo(ctx, repo, "kernel", host)
	if err != nil {
		return nil, err
	}
	builder, err := p.Builder(ctx, bspec)
	if err != nil {
		return nil, err
	}
	builder = p.Perturb.Apply(builder)
	src, err := p.kernelTree(ctx, builder, repo, archive, tc.Kernel.Version, series)
	if err != nil {
		return nil, err
	}
	if spec.Nonce != "" {
		// After the unpack: tar extraction cannot change the binaries, and re-running
		// it would only add a minute to every cache-disabled build.
		builder = builder.WithEnvVariable("GUESTFORGE_NONCE", spec.Nonce)
	}

	start := time.Now()
	cross := spec.Arch.CrossCompile(host)
	ctr := kernelEnv(builder, tc.Epoch).
		WithMountedDirectory(srcPath, src).
		WithNewFile(fragmentPath, string(merged.Bytes())).
		WithWorkdir(srcPath)
	cc := cross + "gcc"
	if spec.Nonce == "" {
		ctr = ctr.WithMountedCache("/ccache", p.Client.CacheVolume("guestforge-ccache")).
			WithEnvVariable("CCACHE_DIR", "/ccache").
			// Compilers are compared by content, not mtime: the builder image is imported
			// anew on every machine.
			WithEnvVariable("CCACHE_COMPILERCHECK", "content")
		cc = "ccache " + cc
	}
	makeVars := kernelMakeVars(cc, srcPath, objPath)
	for _, argv := range kconfig.ConfigCommands(spec.Arch, kconfig.MakeOptions{Fragment: fragmentPath, CrossCompile: cross, ObjDir: objPath}) {
		ctr = ctr.WithExec(append(argv, makeVars...))
	}
	dotConfig, err := ctr.File(objPath + "/.config").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("configure kernel %s/%s: %w", spec.Arch, spec.Variant, err)
	}
	report, err := merged.Verify([]byte(dotConfig), allow)
	if err != nil {
		return nil, err
	}
	for _, e := range report.Excused {
		p.Log.Warn("kernel config: allowlisted mismatch", "detail", e.String())
	}
	p.Log.Info("kernel config verified", "arch", spec.Arch.Name, "variant", spec.Variant, "config", merged.ID(), "symbols", report.Checked)

	common := append(kernelMake(spec.Arch, cross, objPath), makeVars...)
	// -j from the engine's CPU count, which the client does not know.
	built := ctr.WithExec(append([]string{"sh", "-c", `exec "$@" -j"$(nproc)"`, "sh"}, append(common, kernelTargets(spec.Arch)...)...))
	// kbuild writes what `make kernelrelease` prints into this file during the build;
	// reading it saves a container start and a pass over the top Makefile (seconds on
	// every kernel, which the benchmark against bare make counts).
	release, err := built.File(objPath + "/include/config/kernel.release").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("build kernel %s/%s: %w", spec.Arch, spec.Variant, err)
	}
	release = strings.TrimSpace(release)
	if release == "" {
		return nil, fmt.Errorf("build kernel %s/%s: the build left include/config/kernel.release empty, where kbuild records the release; check the kernel tree and its patches", spec.Arch, spec.Variant)
	}
	p.Log.Info("kernel built", "arch", spec.Arch.Name, "variant", spec.Variant, "release", release, "took", time.Since(start).Round(time.Second))

	k := &Kernel{Release: release, ConfigID: merged.ID()}
	files := kernelFiles(spec.Arch, k, objPath)
	out := p.Client.Directory()
	for _, name := range sortedKeys(files) {
		rel := spec.Arch.Name + "/" + name
		out = out.WithFile(rel, built.File(files[name]))
		k.Files = append(k.Files, rel)
	}
	k.Dir = out.WithTimestamps(int(tc.Epoch))
	return k, nil
}

// kernelFiles maps the artifact names of one kernel build to where kbuild left
// each file under objDir: the ELF, the .config and System.map always, and the
// boot image where the arch boots one (ppc64le boots the ELF, so it has no
// vmlinuz).
func kernelFiles(a arch.Arch, k *Kernel, objDir string) map[string]string {
	files := map[string]string{
		k.Name(artifact.Kernel):       objDir + "/vmlinux",
		k.Name(artifact.KernelConfig): objDir + "/.config",
		k.Name(artifact.SystemMap):    objDir + "/System.map",
	}
	if a.KernelImage != "vmlinux" {
		files[k.Name(artifact.KernelImage)] = path.Join(objDir, a.KernelImage)
	}
	return files
}

// kernelMakeVars are the variables every make call of a kernel build carries: the compiler
// (with ccache or without) and the prefix maps that keep srcDir and objDir out of the
// binaries. The benchmark passes the same to its bare host build.
func kernelMakeVars(cc, srcDir, objDir string) []string {
	return []string{"CC=" + cc, "KCFLAGS=-ffile-prefix-map=" + srcDir + "/= -ffile-prefix-map=" + objDir + "/="}
}

// kernelMake is the make command line of a build of arch a into objDir, before its
// variables and targets.
func kernelMake(a arch.Arch, cross, objDir string) []string {
	argv := []string{"make", "ARCH=" + a.KernelArch, "O=" + objDir}
	if cross != "" {
		argv = append(argv, "CROSS_COMPILE="+cross)
	}
	return argv
}

// kernelTargets are the make targets that produce a's outputs: vmlinux, plus the boot
// image where the arch boots something else.
func kernelTargets(a arch.Arch) []string {
	if a.KernelTarget == "vmlinux" {
		return []string{"vmlinux"}
	}
	return []string{"vmlinux", a.KernelTarget}
}

// kernelEnv fixes everything kbuild would otherwise take from the build machine or the
// clock.
func kernelEnv(c *dagger.Container, epoch int64) *dagger.Container {
	return c.
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch, 10)).
		WithEnvVariable("KBUILD_BUILD_TIMESTAMP", time.Unix(epoch, 0).UTC().Format(time.UnixDate)).
		WithEnvVariable("KBUILD_BUILD_USER", "guestforge").
		WithEnvVariable("KBUILD_BUILD_HOST", "guestforge").
		WithEnvVariable("KBUILD_BUILD_VERSION", "1").
		WithEnvVariable("LC_ALL", "C.UTF-8").
		WithEnvVariable("TZ", "UTC")
}

// kernelTree unpacks the verified archive (a Debian linux-source .deb or a kernel.org
// tarball), checks it holds the pinned version and applies patches/<series>/*.patch.
func (p *Pipeline) kernelTree(ctx context.Context, builder *dagger.Container, repo *Repo, archive, version, series string) (*dagger.Directory, error) {
	name := path.Base(archive)
	unpack := `set -eu; mkdir -p /src; tar -xf "$1" -C /src --strip-components=1`
	if strings.HasSuffix(name, ".deb") {
		// linux-source-<series>_*.deb carries usr/src/linux-source-<series>.tar.xz.
		unpack = `set -eu; mkdir -p /src; dpkg-deb --fsys-tarfile "$1" | tar -xO --wildcards './usr/src/linux-source-*.tar.*' | tar -xJ -C /src --strip-components=1`
	}
	tree := builder.
		WithMountedFile("/in/"+name, p.Client.Host().File(archive)).
		WithExec([]string{"sh", "-c", unpack, "sh", "/in/" + name})

	patches, err := repo.Dir.Glob(ctx, PatchesDir+"/"+series+"/*.patch")
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", PatchesDir, series, err)
	}
	if len(patches) > 0 {
		tree = tree.WithMountedDirectory("/patches", repo.Dir.Directory(PatchesDir+"/"+series))
		for _, pt := range patches {
			tree = tree.WithExec([]string{"patch", "-d", srcPath, "-p1", "--forward", "--batch", "-i", "/patches/" + path.Base(pt)})
		}
	}
	got, err := tree.WithWorkdir(srcPath).WithExec([]string{"make", "-s", "kernelversion"}).Stdout(ctx)
	if err != nil {
		if len(patches) > 0 && strings.Contains(err.Error(), "patch") {
			return nil, fmt.Errorf("apply %s/%s (the kernel builder image needs the patch package in builders.kernel.packages): %w", PatchesDir, series, err)
		}
		return nil, fmt.Errorf("unpack the kernel archive %s: %w", name, err)
	}
	if got = strings.TrimSpace(got); got != version {
		return nil, fmt.Errorf("kernel archive %s holds kernel %s, but toolchain.yaml pins %s", name, got, version)
	}
	return tree.Directory(srcPath), nil
}

// enginePlatform is the architecture containers run natively on: builder images are
// made for it and cross-compile everything else.
func (p *Pipeline) enginePlatform(ctx context.Context) (arch.Arch, error) {
	pl, err := p.Client.DefaultPlatform(ctx)
	if err != nil {
		return arch.Arch{}, fmt.Errorf("ask the engine for its platform: %w", err)
	}
	_, name, ok := strings.Cut(string(pl), "/")
	if !ok {
		return arch.Arch{}, fmt.Errorf("engine platform %q is not os/arch", pl)
	}
	name, _, _ = strings.Cut(name, "/") // drop a variant (arm64/v8)
	a, err := arch.Parse(name)
	if err != nil {
		return arch.Arch{}, errors.Join(fmt.Errorf("engine platform %q", pl), err)
	}
	return a, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
