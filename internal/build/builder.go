package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/ociarchive"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// BuilderSpec is one builder image: a Debian suite with the packages a pipeline step
// needs, locked. All fields are plain values, so the image is cached under a key of them.
type BuilderSpec struct {
	Name     string // the builders: key in toolchain.yaml (kernel, rootfs, image)
	Mirror   string
	Suite    string
	Packages []string
	Arch     arch.Arch // the image's own architecture: the engine's platform
	Epoch    int64     // SOURCE_DATE_EPOCH for mmdebstrap
	// Digest, when set, names a prebuilt image by digest (repo@sha256:...), for engines
	// that reach a registry; it replaces the local build.
	Digest string
	// Lock is builders/<name>.lock and Seed builders/seed.lock: the image holds exactly
	// Lock's packages for Arch, installed in a seed of exactly Seed's.
	Lock, Seed *pkglock.Lock
}

// BuilderFromManifest reads builders.<name> of toolchain.yaml for an image of arch a,
// without its locks (BuilderFromRepo adds them).
func BuilderFromManifest(tc *manifest.Toolchain, name string, a arch.Arch) (BuilderSpec, error) {
	b, ok := tc.Builders[name]
	if !ok {
		return BuilderSpec{}, fmt.Errorf("%s has no builders.%s: add it with the Debian packages that step needs", tc.Path, name)
	}
	return BuilderSpec{Name: name, Mirror: tc.Distro.Mirror, Suite: tc.Distro.Suite, Packages: b.Packages,
		Arch: a, Epoch: tc.Epoch, Digest: b.Digest}, nil
}

// BuilderFromRepo is BuilderFromManifest with the builder's and the seed's locks from
// the checkout, each checked against toolchain.yaml: a missing or stale lock fails
// here, before anything is built.
func BuilderFromRepo(ctx context.Context, repo *Repo, name string, a arch.Arch) (BuilderSpec, error) {
	spec, err := BuilderFromManifest(repo.Toolchain, name, a)
	if err != nil || spec.Digest != "" {
		return spec, err
	}
	arches := []string{a.DebianArch}
	if spec.Seed, err = checkedLock(ctx, repo, pkglock.BuildersDir+"/"+pkglock.SeedName+".lock", pkglock.SeedInputs(repo.Toolchain, arches)); err != nil {
		return spec, err
	}
	spec.Lock, err = checkedLock(ctx, repo, pkglock.BuildersDir+"/"+name+".lock", pkglock.BuilderInputs(repo.Toolchain, name, arches))
	return spec, err
}

// Key is the content key of the image: the locked package sets (the builder's and the
// seed's, whose digests cover suite, mirror and every .deb), the name, architecture and
// epoch. A refresh of the lock that moves no package keeps the key; any moved package
// changes it, on every machine alike.
func (s BuilderSpec) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "guestforge builder %d\nname=%s\narch=%s\nepoch=%d\nlock=%s\nseed=%s\n",
		builderRecipe, s.Name, s.Arch.DebianArch, s.Epoch, lockDigest(s.Lock, s.Arch), lockDigest(s.Seed, s.Arch))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func lockDigest(l *pkglock.Lock, a arch.Arch) string {
	if l == nil {
		return ""
	}
	s, ok := l.Section(a.DebianArch)
	if !ok {
		return ""
	}
	return l.Digest(s)
}

// builderRecipe versions how builder images are made beyond the spec (the mmdebstrap
// command line, the OCI conversion): bump it and every cached builder is rebuilt.
// 2: no session-specific /etc/resolv.conf in the image. 3: installed from the lock's
// repository only, with the mirror's sources.list.
const builderRecipe = 3

var digestRef = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$`)

// builderArgs is the mmdebstrap command making a builder image at out from source.
func (s BuilderSpec) builderArgs(source, out string) []string {
	return []string{"mmdebstrap", "--mode=root", "--variant=" + pkglock.BuilderVariant, "--format=tar",
		"--aptopt=Acquire::Retries \"3\"",
		// mmdebstrap copies the container's resolv.conf, whose search domain names
		// the Dagger session: the image would differ on every build.
		`--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
		// A locked build's source is the lock's repository; the image keeps the mirror.
		sourcesListHook(s.Mirror, s.Suite),
		"--include=" + strings.Join(pkglock.Normalize(s.Packages), ","),
		s.Suite, out, source}
}

// sourcesListHook writes the sources.list mmdebstrap writes for the mirror: the image
// reads the same whichever source it was installed from. The lock's mirror has no
// quote or space (pkglock checks).
func sourcesListHook(mirror, suite string) string {
	return fmt.Sprintf(`--customize-hook=printf 'deb %s %s main\n' > "$1/etc/apt/sources.list"`, mirror, suite)
}

// Builder returns the builder container for spec. Without a digest it is built here:
// every locked .deb of the builder and the seed is downloaded and verified first, then
// mmdebstrap installs the lock's set from a repository of only those .debs in a seed
// container, the result's dpkg status is checked against the lock, and it is turned
// into an OCI archive and imported. The archive is kept in CacheDir/images under the
// spec's key (the locks' digests), so every machine builds the same bytes for a lock
// and later builds use them.
func (p *Pipeline) Builder(ctx context.Context, spec BuilderSpec) (*dagger.Container, error) {
	if spec.Digest != "" {
		if !digestRef.MatchString(spec.Digest) {
			return nil, fmt.Errorf("builders.%s.digest %q is not a digest-pinned reference (want repo@sha256:<64 hex>)", spec.Name, spec.Digest)
		}
		return p.Client.Container(dagger.ContainerOpts{Platform: dagger.Platform(spec.Arch.OCIPlatform)}).From(spec.Digest), nil
	}
	if spec.Lock == nil || spec.Seed == nil {
		return nil, badInput(fmt.Errorf("builder %s has no package lock: open it with BuilderFromRepo (%s/%s.lock)", spec.Name, pkglock.BuildersDir, spec.Name))
	}
	sec, err := section(spec.Lock, spec.Arch.DebianArch)
	if err != nil {
		return nil, err
	}
	path := p.dir("images", fmt.Sprintf("builder-%s-%s-%s.oci.tar", spec.Name, spec.Arch.Name, spec.Key()))
	if _, err := os.Stat(path); err == nil {
		p.Log.Info("builder image: cached", "name", spec.Name, "path", path)
		return p.importArchive(path), nil
	}
	start := time.Now()
	repoDir, err := p.lockRepo(ctx, spec.Lock, sec)
	if err != nil {
		return nil, err
	}
	seedCtr, err := p.seedContainer(ctx, spec)
	if err != nil {
		return nil, err
	}
	p.Log.Info("builder image: mmdebstrap of the lock in the seed container", "name", spec.Name, "suite", spec.Suite, "packages", len(sec.Packages))
	tmp, err := p.mmdebstrapInSeed(ctx, seedCtr.WithMountedDirectory(lockRepoMount, repoDir), spec, lockSource)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	installed, err := installedFromTar(tmp)
	if err != nil {
		return nil, err
	}
	if err := spec.Lock.CheckInstalled(sec, installed, "builder image "+spec.Name+" for "+spec.Arch.Name); err != nil {
		return nil, err
	}
	if err := p.writeArchive(path, tmp, spec.Arch, spec.Epoch); err != nil {
		return nil, err
	}
	p.Log.Info("builder image: built", "name", spec.Name, "path", path, "took", time.Since(start).Round(time.Second))
	return p.importArchive(path), nil
}

// mmdebstrapInSeed runs the builder's mmdebstrap from source in seedCtr and exports the
// root filesystem tarball to a temporary file of the image cache.
func (p *Pipeline) mmdebstrapInSeed(ctx context.Context, seedCtr *dagger.Container, spec BuilderSpec, source string) (string, error) {
	const out = "/tmp/rootfs.tar"
	rootfs := seedCtr.
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.FormatInt(spec.Epoch, 10)).
		// mmdebstrap mounts /proc, /sys and /dev in the chroot it installs into.
		WithExec(spec.builderArgs(source, out), dagger.ContainerWithExecOpts{InsecureRootCapabilities: true}).
		File(out)
	if err := os.MkdirAll(p.dir("images"), 0o755); err != nil {
		return "", fmt.Errorf("create the image cache: %w", err)
	}
	tmp, err := os.CreateTemp(p.dir("images"), ".rootfs-*.tar")
	if err != nil {
		return "", fmt.Errorf("create the image cache: %w", err)
	}
	tmp.Close()
	if _, err := rootfs.Export(ctx, tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("build builder image %s (mmdebstrap %s with %s): %w", spec.Name, spec.Suite, strings.Join(spec.Packages, " "), err)
	}
	return tmp.Name(), nil
}

func (p *Pipeline) importArchive(path string) *dagger.Container {
	return p.Client.Container().Import(p.Client.Host().File(path))
}

func (p *Pipeline) writeArchive(path, rootfs string, a arch.Arch, epoch int64) error {
	osName, ociArch, _ := strings.Cut(a.OCIPlatform, "/")
	_, err := ociarchive.WriteFile(path, ociarchive.Image{
		Rootfs: rootfs, OS: osName, Architecture: ociArch, Created: time.Unix(epoch, 0),
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"},
		Cmd: []string{"/bin/bash"},
	})
	if err != nil {
		return fmt.Errorf("write OCI archive %s: %w", path, err)
	}
	return nil
}
