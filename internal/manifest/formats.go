package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Status values of a target, in lifecycle order.
const (
	StatusSupported    = "supported"
	StatusExperimental = "experimental"
	StatusDeprecated   = "deprecated"
	StatusRemoved      = "removed"
)

// Statuses lists the allowed target statuses.
var Statuses = []string{StatusSupported, StatusExperimental, StatusDeprecated, StatusRemoved}

// Feed names a pin may be checked against; internal/policy knows how to read each.
const (
	FeedGo     = "go"
	FeedRust   = "rust"
	FeedKernel = "kernel"
	// FeedDebian is the Debian releases as the mirror's Release files state
	// them (dists/stable, oldstable, oldoldstable).
	FeedDebian = "debian"
	// FeedEdk2 is edk2's stable releases (tags edk2-stableYYYYMM).
	FeedEdk2 = "edk2"
)

// ToolchainFeeds are the feeds a toolchains: entry may use.
var ToolchainFeeds = []string{FeedGo, FeedRust}

// KernelName is the exception name that refers to the kernel pin.
const KernelName = "kernel"

// Edk2Name is the exception name that refers to the firmware's edk2 pin.
const Edk2Name = "edk2"

// DistroName is the exception name that refers to the distro suite pin.
const DistroName = "distro"

var (
	releaseRe       = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$`)
	kernelVersionRe = regexp.MustCompile(`^([1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(\.(0|[1-9][0-9]{0,5}))?$`)
	sha256Re        = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// edk2 stable releases are quarterly, named by year and month.
	edk2VersionRe = regexp.MustCompile(`^20[0-9]{2}\.(0[1-9]|1[0-2])$`)
	nameRe        = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	// Debian policy 5.6.1: lowercase alphanumerics and + - . , at least two characters.
	debPackageRe = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	digestRefRe  = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*@sha256:[0-9a-f]{64}$`)
	maintainerRe = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9._-]+)?$`)
)

// checkRelease validates a toolchain release version: MAJOR.MINOR.PATCH.
func checkRelease(s string) error {
	if !releaseRe.MatchString(s) {
		return fmt.Errorf("%q is not a release version: write MAJOR.MINOR.PATCH without prefix, e.g. \"1.26.8\"", s)
	}
	return nil
}

// checkKernelVersion validates a kernel release: 6.12 or 6.12.117.
func checkKernelVersion(s string) error {
	if !kernelVersionRe.MatchString(s) {
		return fmt.Errorf("%q is not a kernel release: write MAJOR.MINOR.PATCH as on kernel.org, e.g. \"6.12.117\" (no -rc, no distro suffix)", s)
	}
	return nil
}

// checkEdk2Version validates an edk2 stable release: 2025.02 (edk2-stable202502).
func checkEdk2Version(s string) error {
	if !edk2VersionRe.MatchString(s) {
		return fmt.Errorf("%q is not an edk2 stable release: write YEAR.MONTH of its tag, e.g. \"2025.02\" for edk2-stable202502", s)
	}
	return nil
}

// checkModuleVersion validates a Go module version: a canonical semantic version with v prefix.
func checkModuleVersion(s string) error {
	if !semver.IsValid(s) || semver.Canonical(s) != strings.TrimSuffix(s, "+incompatible") {
		return fmt.Errorf("%q is not a module version: write it as in go.mod, e.g. \"v1.10.2\"", s)
	}
	return nil
}

// IsModulePath reports whether name looks like a Go module path (the first
// element has a dot), which is how exceptions name go.mod dependencies.
func IsModulePath(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	return strings.Contains(first, ".") && module.CheckPath(name) == nil
}

// checkHTTPURL validates an absolute http(s) URL.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// checkSHA256 validates a hex sha256 digest.
func checkSHA256(s string) error {
	if !sha256Re.MatchString(s) {
		return fmt.Errorf("%q is not a sha256 digest: write 64 lowercase hex digits (sha256sum prints them)", s)
	}
	return nil
}

// ParseSize parses a size with a binary unit: "64MiB", "1GiB", "512KiB" or
// plain bytes "4096". Decimal units (MB) are refused because image budgets
// are compared with filesystem sizes, which are binary.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}, {"", 1}}
	t := strings.TrimSpace(s)
	for _, u := range units {
		if !strings.HasSuffix(t, u.suffix) {
			continue
		}
		num := strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
		n, err := strconv.ParseInt(num, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("size %q is out of range: the largest size is 4194304TiB (2^62 bytes)", s)
		}
		if err != nil || n <= 0 {
			break
		}
		if n > (1<<62)/u.mult {
			return 0, fmt.Errorf("size %q is out of range: the largest size is 4194304TiB (2^62 bytes)", s)
		}
		return n * u.mult, nil
	}
	return 0, fmt.Errorf("%q is not a size: write a positive whole number with KiB, MiB, GiB or TiB, e.g. \"64MiB\"", s)
}

// ParseOwner parses "uid:gid" (numeric ids, as the initrd records them).
func ParseOwner(s string) (uid, gid uint32, err error) {
	u, g, ok := strings.Cut(s, ":")
	if ok {
		uu, err1 := strconv.ParseUint(u, 10, 32)
		gg, err2 := strconv.ParseUint(g, 10, 32)
		if err1 == nil && err2 == nil {
			return uint32(uu), uint32(gg), nil
		}
	}
	return 0, 0, fmt.Errorf("%q is not an owner: write numeric uid:gid, e.g. \"1000:1000\"", s)
}
