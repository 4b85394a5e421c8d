package boot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
)

// DefaultFixtureDir is where rootfs fixtures are cached. It is outside the
// clone on purpose: CI keeps it between runs, and a fresh clone reuses it.
const DefaultFixtureDir = "/var/cache/guestforge/fixtures"

// fixtureFormat is bumped when the way a fixture is produced changes, so old
// cached tarballs are not mistaken for new ones.
const fixtureFormat = "mmdebstrap-tar-v1"

// RootfsSpec is everything that decides what a Debian rootfs fixture holds.
// Its Key is the cache key: same spec, same cached tarball.
type RootfsSpec struct {
	Suite   string
	Variant string
	Mirror  string
	Arch    arch.Arch
	Include []string
}

// Key is a short digest of the spec's inputs (package order does not matter).
func (s RootfsSpec) Key() string {
	inc := slices.Clone(s.Include)
	slices.Sort(inc)
	inc = slices.Compact(inc)
	h := sha256.New()
	fmt.Fprintf(h, "format=%s\nsuite=%s\nvariant=%s\nmirror=%s\narch=%s\ninclude=%s\n",
		fixtureFormat, s.Suite, s.Variant, s.Mirror, s.Arch.DebianArch, strings.Join(inc, ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// FixtureDir is $GUESTFORGE_FIXTURES or DefaultFixtureDir.
func FixtureDir() string {
	if d := os.Getenv("GUESTFORGE_FIXTURES"); d != "" {
		return d
	}
	return DefaultFixtureDir
}

// DebianRootfsTar returns the path of a tarball holding the rootfs described
// by spec, building it with mmdebstrap when it is not cached yet. Concurrent
// callers (several test binaries) wait on a lock instead of building twice.
// mmdebstrap output goes to log, which may be nil.
func DebianRootfsTar(ctx context.Context, spec RootfsSpec, log io.Writer) (string, error) {
	if spec.Suite == "" || spec.Variant == "" || spec.Mirror == "" || spec.Arch.Name == "" {
		return "", fmt.Errorf("rootfs fixture spec %+v is incomplete: suite, variant, mirror and arch are required", spec)
	}
	dir := FixtureDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create fixture cache %s: %w (set GUESTFORGE_FIXTURES to a writable directory)", dir, err)
	}
	name := fmt.Sprintf("rootfs-%s-%s-%s-%s.tar", spec.Suite, spec.Variant, spec.Arch.DebianArch, spec.Key())
	out := filepath.Join(dir, name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}

	lock, err := os.OpenFile(out+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("open fixture lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // released on close anyway
	// Another process may have finished the build while we waited.
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}

	mm, err := exec.LookPath("mmdebstrap")
	if err != nil {
		return "", errors.New("mmdebstrap not on PATH: install the Debian package mmdebstrap (hack/deps.sh) to build rootfs fixtures")
	}
	tmp := out + ".tmp"
	args := []string{
		"--variant=" + spec.Variant,
		"--architectures=" + spec.Arch.DebianArch,
		"--format=tar",
	}
	if len(spec.Include) > 0 {
		inc := slices.Clone(spec.Include)
		slices.Sort(inc)
		args = append(args, "--include="+strings.Join(inc, ","))
	}
	args = append(args, spec.Suite, tmp, spec.Mirror)
	cmd := exec.CommandContext(ctx, mm, args...)
	// A fixed SOURCE_DATE_EPOCH keeps mmdebstrap's own timestamps stable, so
	// two fixture builds differ only where the Debian archive moved.
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1767225600")
	if log != nil {
		cmd.Stdout, cmd.Stderr = log, log
	}
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("mmdebstrap %s: %w (is %s reachable?)", strings.Join(args, " "), err, spec.Mirror)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("store fixture: %w", err)
	}
	return out, nil
}

// SpecForImage is the fixture spec of an image definition: its suite (or the
// toolchain's), variant and packages, from the toolchain's mirror.
func SpecForImage(tc *manifest.Toolchain, img *manifest.Image, a arch.Arch) RootfsSpec {
	suite := img.Distro.Suite
	if suite == "" {
		suite = tc.Distro.Suite
	}
	variant := img.Variant
	if variant == "" {
		variant = "minbase"
	}
	return RootfsSpec{Suite: suite, Variant: variant, Mirror: tc.Distro.Mirror, Arch: a, Include: img.Packages}
}

// MinbaseSpec is a plain Debian minbase rootfs of the toolchain's suite: the
// tree the initrd benchmark packs.
func MinbaseSpec(tc *manifest.Toolchain, a arch.Arch) RootfsSpec {
	return RootfsSpec{Suite: tc.Distro.Suite, Variant: "minbase", Mirror: tc.Distro.Mirror, Arch: a}
}
