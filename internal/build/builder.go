package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/ociarchive"
	"github.com/guestforge/guestforge/internal/manifest"
)

// BuilderSpec is one builder image: a Debian suite with the packages a pipeline step
// needs. All fields are plain values, so the image is cached under a key of them.
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
}

// BuilderFromManifest reads builders.<name> of toolchain.yaml for an image of arch a.
func BuilderFromManifest(tc *manifest.Toolchain, name string, a arch.Arch) (BuilderSpec, error) {
	b, ok := tc.Builders[name]
	if !ok {
		return BuilderSpec{}, fmt.Errorf("%s has no builders.%s: add it with the Debian packages that step needs", tc.Path, name)
	}
	return BuilderSpec{Name: name, Mirror: tc.Distro.Mirror, Suite: tc.Distro.Suite, Packages: b.Packages,
		Arch: a, Epoch: tc.Epoch, Digest: b.Digest}, nil
}

// Key is the content key of the image's inputs: the same suite, mirror, package set
// (order and duplicates do not matter), architecture and epoch give the same key.
func (s BuilderSpec) Key() string {
	pkgs := slices.Compact(slices.Sorted(slices.Values(s.Packages)))
	h := sha256.New()
	fmt.Fprintf(h, "guestforge builder %d\nname=%s\nmirror=%s\nsuite=%s\narch=%s\nepoch=%d\npackages=%s\n",
		builderRecipe, s.Name, s.Mirror, s.Suite, s.Arch.DebianArch, s.Epoch, strings.Join(pkgs, ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// builderRecipe versions how builder images are made beyond the spec (the mmdebstrap
// command line, the OCI conversion): bump it and every cached builder is rebuilt.
// 2: no session-specific /etc/resolv.conf in the image.
const builderRecipe = 2

var digestRef = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$`)

// Builder returns the builder container for spec. Without a digest it is built here:
// mmdebstrap of the suite with the packages, run in a seed container, turned into an OCI
// archive and imported. The archive is kept in CacheDir/images under the spec's key, so
// the image is built once per machine and every later build uses the same bytes.
func (p *Pipeline) Builder(ctx context.Context, spec BuilderSpec) (*dagger.Container, error) {
	if spec.Digest != "" {
		if !digestRef.MatchString(spec.Digest) {
			return nil, fmt.Errorf("builders.%s.digest %q is not a digest-pinned reference (want repo@sha256:<64 hex>)", spec.Name, spec.Digest)
		}
		return p.Client.Container(dagger.ContainerOpts{Platform: dagger.Platform(spec.Arch.OCIPlatform)}).From(spec.Digest), nil
	}
	path := p.dir("images", fmt.Sprintf("builder-%s-%s-%s.oci.tar", spec.Name, spec.Arch.Name, spec.Key()))
	if _, err := os.Stat(path); err == nil {
		p.Log.Info("builder image: cached", "name", spec.Name, "path", path)
		return p.importArchive(path), nil
	}
	start := time.Now()
	seedCtr, err := p.seedContainer(ctx, spec)
	if err != nil {
		return nil, err
	}
	p.Log.Info("builder image: mmdebstrap in the seed container", "name", spec.Name, "suite", spec.Suite, "packages", len(spec.Packages))
	const out = "/tmp/rootfs.tar"
	rootfs := seedCtr.
		WithEnvVariable("SOURCE_DATE_EPOCH", strconv.FormatInt(spec.Epoch, 10)).
		WithExec([]string{"mmdebstrap", "--mode=root", "--variant=minbase", "--format=tar",
			"--aptopt=Acquire::Retries \"3\"",
			// mmdebstrap copies the container's resolv.conf, whose search domain names
			// the Dagger session: the image would differ on every build.
			`--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
			"--include=" + strings.Join(spec.Packages, ","),
			spec.Suite, out, "deb " + spec.Mirror + " " + spec.Suite + " main"},
			// mmdebstrap mounts /proc, /sys and /dev in the chroot it installs into.
			dagger.ContainerWithExecOpts{InsecureRootCapabilities: true}).
		File(out)
	if err := os.MkdirAll(p.dir("images"), 0o755); err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	tmp, err := os.CreateTemp(p.dir("images"), ".rootfs-*.tar")
	if err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := rootfs.Export(ctx, tmp.Name()); err != nil {
		return nil, fmt.Errorf("build builder image %s (mmdebstrap %s with %s): %w", spec.Name, spec.Suite, strings.Join(spec.Packages, " "), err)
	}
	if err := p.writeArchive(path, tmp.Name(), spec.Arch, spec.Epoch); err != nil {
		return nil, err
	}
	p.Log.Info("builder image: built", "name", spec.Name, "path", path, "took", time.Since(start).Round(time.Second))
	return p.importArchive(path), nil
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
