package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
)

// rawSpec is everything that decides what mmdebstrap installs. Key() is the cache key of
// the raw tarball: same spec, same (cached) tarball.
type rawSpec struct {
	Mirror, Suite, Variant string
	Arch                   arch.Arch
	Packages               []string
	Epoch                  int64
	// Builder is the rootfs builder image's key: another mmdebstrap may lay out
	// another tarball.
	Builder string
}

// rawFormat is bumped when the way the raw tarball is made changes.
const rawFormat = "guestforge raw rootfs v1"

func (s rawSpec) packages() []string {
	return slices.Compact(slices.Sorted(slices.Values(s.Packages)))
}

// Key is a short digest of the spec (package order and duplicates do not matter).
func (s rawSpec) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nmirror=%s\nsuite=%s\nvariant=%s\narch=%s\nepoch=%d\nbuilder=%s\npackages=%s\n",
		rawFormat, s.Mirror, s.Suite, s.Variant, s.Arch.DebianArch, s.Epoch, s.Builder, strings.Join(s.packages(), ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// debCache is where the builder mounts the cache volume of downloaded packages.
const debCache = "/var/cache/guestforge-debs"

// mmdebstrapArgs is the mmdebstrap command writing the raw tarball to out.
//
// Downloaded .debs go through debCache (mmdebstrap's sync-in/sync-out recipe), so a
// cache-disabled build still installs and configures every package but does not fetch
// it again: apt accepts a cached .deb only when its size and hash match the signed
// index, so the cache cannot change what is installed. --skip=essential/unlink keeps
// the essential set's .debs for sync-out; the cleanup still empties the apt cache in
// the result.
func (s rawSpec) mmdebstrapArgs(out string) []string {
	args := []string{"mmdebstrap", "--mode=root", "--variant=" + s.Variant,
		"--architectures=" + s.Arch.DebianArch, "--format=tar",
		`--aptopt=Acquire::Retries "3"`,
		"--skip=essential/unlink",
		`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
		"--setup-hook=sync-in " + debCache + " /var/cache/apt/archives/",
		"--customize-hook=sync-out /var/cache/apt/archives " + debCache}
	if pkgs := s.packages(); len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(pkgs, ","))
	}
	return append(args, s.Suite, out, "deb "+s.Mirror+" "+s.Suite+" main")
}

// foreignSetup makes the engine run binaries of arch $2 and then runs the command
// after the two arguments: binfmt_misc mounted in this (privileged) exec, where
// mmdebstrap looks for it, qemu-user-static's handler $1 enabled (Debian registers it
// with the F flag, so the interpreter is found in any container), and arch-test proving
// it works. The registration is the kernel's and outlives the exec; enabling it again
// is harmless.
const foreignSetup = `set -eu
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable "$1" 2>/dev/null || update-binfmts --display "$1" | grep -q enabled
if ! arch-test "$2" >/tmp/arch-test.log 2>&1; then
	cat /tmp/arch-test.log >&2
	echo "guestforge: the engine cannot run $2 binaries through $1 (binfmt_misc): is the host kernel built with CONFIG_BINFMT_MISC?" >&2
	exit 1
fi
shift 2
exec "$@"
`

// unknownPackage matches what apt says about a package the suite does not have.
var unknownPackage = []*regexp.Regexp{
	regexp.MustCompile(`Unable to locate package (\S+)`),
	regexp.MustCompile(`Package '?([^' ]+)'? has no installation candidate`),
	regexp.MustCompile(`Couldn't find any package by (?:glob|regex) '([^']+)'`),
}

// rawRootfs returns the host path of the raw mmdebstrap tarball for spec, from the
// client cache when it is there (and nonce is empty), else built in the engine with
// builder and cached. With a nonce the tarball is built anew and not cached: the
// cache-disabled build reproducibility is proven with.
func (p *Pipeline) rawRootfs(ctx context.Context, builder *dagger.Container, host arch.Arch, spec rawSpec, d *imageDef, nonce string) (path string, temporary bool, err error) {
	cached := p.dir("rootfs", fmt.Sprintf("raw-%s-%s-%s-%s.tar", spec.Suite, spec.Variant, spec.Arch.Name, spec.Key()))
	if nonce == "" {
		if _, err := os.Stat(cached); err == nil {
			p.Log.Info("rootfs: mmdebstrap result cached", "image", d.Name, "arch", spec.Arch.Name, "path", cached)
			return cached, false, nil
		}
	}
	ctr := builder.WithEnvVariable("SOURCE_DATE_EPOCH", strconv.FormatInt(spec.Epoch, 10))
	if nonce != "" {
		ctr = ctr.WithEnvVariable("GUESTFORGE_NONCE", nonce)
	}
	const out = "/out/raw.tar"
	argv := spec.mmdebstrapArgs(out)
	if spec.Arch.Name != host.Name {
		argv = append([]string{"sh", "-c", foreignSetup, "sh", spec.Arch.QEMUUser, spec.Arch.DebianArch}, argv...)
	}
	// mmdebstrap mounts /proc, /sys and /dev in the chroot it installs into.
	ctr = ctr.WithMountedCache(debCache, p.Client.CacheVolume("guestforge-debs-"+spec.Suite+"-"+spec.Arch.DebianArch)).
		WithExec([]string{"mkdir", "-p", "/out"}).WithExec(argv, dagger.ContainerWithExecOpts{InsecureRootCapabilities: true})
	start := time.Now()
	p.Log.Info("rootfs: mmdebstrap", "image", d.Name, "arch", spec.Arch.Name, "variant", spec.Variant, "packages", len(spec.Packages))
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return "", false, fmt.Errorf("create the rootfs cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(cached), ".raw-*.tar")
	if err != nil {
		return "", false, err
	}
	tmp.Close()
	if _, err := ctr.File(out).Export(ctx, tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return "", false, d.mmdebstrapError(spec, err)
	}
	p.Log.Info("rootfs: mmdebstrap done", "image", d.Name, "arch", spec.Arch.Name, "took", time.Since(start).Round(time.Second))
	if nonce != "" {
		return tmp.Name(), true, nil
	}
	if err := os.Rename(tmp.Name(), cached); err != nil {
		os.Remove(tmp.Name())
		return "", false, err
	}
	return cached, false, nil
}

// mmdebstrapError turns a failed mmdebstrap into an error that says what to fix: an
// unknown package is named with the line of the image definition that asks for it.
func (d *imageDef) mmdebstrapError(spec rawSpec, err error) error {
	var ee *dagger.ExecError
	if !errors.As(err, &ee) {
		return fmt.Errorf("image %s: mmdebstrap %s for %s: %w", d.Name, spec.Suite, spec.Arch.Name, err)
	}
	out := ee.Stderr + "\n" + ee.Stdout
	for _, re := range unknownPackage {
		if m := re.FindStringSubmatch(out); m != nil {
			return fmt.Errorf("image %s: package %q is not in Debian %s for %s (apt: %q): fix or remove it in packages: (%s)",
				d.Name, m[1], spec.Suite, spec.Arch.DebianArch, strings.TrimSpace(m[0]), d.at(m[1]))
		}
	}
	return fmt.Errorf("image %s: mmdebstrap %s for %s failed (exit %d):\n%s", d.Name, spec.Suite, spec.Arch.Name, ee.ExitCode, lastLines(ee.Stderr, 30))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
