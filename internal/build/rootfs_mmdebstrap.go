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
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/pkglock"
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
	// Lock is the image's lock and Section its section for Arch: mmdebstrap installs
	// exactly those packages. Without them the spec resolves a lock from the live
	// mirror (resolveArgs), and nothing is cached.
	Lock    *pkglock.Lock
	Section *pkglock.Section
}

// rawFormat is bumped when the way the raw tarball is made changes. v2: from the
// lock's repository, keyed by the lock's digest.
const rawFormat = "guestforge raw rootfs v2"

func (s rawSpec) packages() []string { return pkglock.Normalize(s.Packages) }

// Key is a short digest of the spec: the lock's digest stands for the suite, mirror,
// packages and every .deb, so a warm machine and a fresh one hold the same tarball
// under the same key, and a lock that moved makes a new one.
func (s rawSpec) Key() string {
	digest := ""
	if s.Lock != nil && s.Section != nil {
		digest = s.Lock.Digest(s.Section)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nvariant=%s\narch=%s\nepoch=%d\nbuilder=%s\nlock=%s\n",
		rawFormat, s.Variant, s.Arch.DebianArch, s.Epoch, s.Builder, digest)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// debCache is where the builder mounts the cache volume of downloaded packages.
const debCache = "/var/cache/guestforge-debs"

// mmdebstrapArgs is the locked mmdebstrap command writing the raw tarball to out: its
// only source is the lock's repository (mounted at lockRepoMount), so apt resolves the
// variant and packages among exactly the locked .debs, and the image's sources.list
// names the mirror as an unlocked run writes it.
func (s rawSpec) mmdebstrapArgs(out string) []string {
	args := []string{"mmdebstrap", "--mode=root", "--variant=" + s.Variant,
		"--architectures=" + s.Arch.DebianArch, "--format=tar",
		sourcesListHook(s.Mirror, s.Suite)}
	if pkgs := s.packages(); len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(pkgs, ","))
	}
	return append(args, s.Suite, out, lockSource)
}

// resolveArgs is the mmdebstrap command that resolves a lock: the same variant and
// packages from the live mirror, whose dpkg status then says what the lock holds.
//
// Downloaded .debs go through debCache (mmdebstrap's sync-in/sync-out recipe), so a
// second resolution does not fetch them again: apt accepts a cached .deb only when its
// size and hash match the signed index, so the cache cannot change what is installed.
// --skip=essential/unlink keeps the essential set's .debs for sync-out.
func (s rawSpec) resolveArgs(out string) []string {
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

// rawRootfs returns the host path of the raw mmdebstrap tarball for spec. With a lock
// (repoDir, its repository) it comes from the client cache when it is there (and nonce
// is empty), else it is built in the engine with builder, checked against the lock
// and cached; with a nonce it is built anew and not cached: the cache-disabled build
// reproducibility is proven with. Without a lock (repoDir nil) it is a resolution from
// the live mirror, never cached.
func (p *Pipeline) rawRootfs(ctx context.Context, builder *dagger.Container, host arch.Arch, spec rawSpec, d *imageDef, nonce string, repoDir *dagger.Directory) (path string, temporary bool, err error) {
	cached := p.dir("rootfs", fmt.Sprintf("raw-%s-%s-%s-%s.tar", spec.Suite, spec.Variant, spec.Arch.Name, spec.Key()))
	locked := repoDir != nil
	if nonce == "" && locked {
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
	argv := spec.resolveArgs(out)
	if locked {
		argv = spec.mmdebstrapArgs(out)
		ctr = ctr.WithMountedDirectory(lockRepoMount, repoDir)
	} else {
		ctr = ctr.WithMountedCache(debCache, p.Client.CacheVolume("guestforge-debs-"+spec.Suite+"-"+spec.Arch.DebianArch))
	}
	if spec.Arch.Name != host.Name {
		argv = append([]string{"sh", "-c", foreignSetup, "sh", spec.Arch.QEMUUser, spec.Arch.DebianArch}, argv...)
	}
	// mmdebstrap mounts /proc, /sys and /dev in the chroot it installs into.
	ctr = ctr.WithExec([]string{"mkdir", "-p", "/out"}).WithExec(argv, dagger.ContainerWithExecOpts{InsecureRootCapabilities: true})
	start := time.Now()
	p.Log.Info("rootfs: mmdebstrap", "image", d.Name, "arch", spec.Arch.Name, "variant", spec.Variant, "packages", len(spec.Packages), "locked", locked)
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
	if locked {
		if err := checkRaw(tmp.Name(), spec, d); err != nil {
			os.Remove(tmp.Name())
			return "", false, err
		}
	}
	if nonce != "" || !locked {
		return tmp.Name(), true, nil
	}
	if err := os.Rename(tmp.Name(), cached); err != nil {
		os.Remove(tmp.Name())
		return "", false, err
	}
	return cached, false, nil
}

// checkRaw holds a locked tarball to its lock: dpkg's status lists exactly the locked
// packages at the locked versions.
func checkRaw(raw string, spec rawSpec, d *imageDef) error {
	installed, err := installedFromTar(raw)
	if err != nil {
		return err
	}
	return spec.Lock.CheckInstalled(spec.Section, installed, "image "+d.Name+" for "+spec.Arch.Name)
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
