package manifest

import "strings"

// Toolchain is toolchain.yaml: the one pinned input of every build.
type Toolchain struct {
	// Path is the file the manifest was loaded from (for error messages).
	Path string `yaml:"-"`
	// Source is the manifest text as loaded; rewrites (policy bump --write)
	// edit these bytes in place so comments and order survive.
	Source []byte `yaml:"-"`

	// Epoch is the SOURCE_DATE_EPOCH default (seconds since 1970, UTC).
	Epoch      int64           `yaml:"epoch"`
	Release    ReleaseSettings `yaml:"release"`
	Policy     Policy          `yaml:"policy"`
	Toolchains map[string]Pin  `yaml:"toolchains"`
	Kernel     Kernel          `yaml:"kernel"`
	// Firmware is empty when no target is confidential.
	Firmware Firmware           `yaml:"firmware"`
	Distro   Distro             `yaml:"distro"`
	Builders map[string]Builder `yaml:"builders"`
	// Architectures holds canonical names (aliases are mapped by internal/arch).
	Architectures []string `yaml:"architectures"`
	Targets       []Target `yaml:"targets"`
}

// ReleaseSettings drive versioning and publishing.
type ReleaseSettings struct {
	// Day is the day of month the monthly minor release is cut.
	Day int `yaml:"day"`
	// Registry is the default OCI repository artifacts are published to.
	Registry string `yaml:"registry"`
}

// Policy is the N-<Lag> toolchain rule and its dated exceptions.
type Policy struct {
	Lag        int         `yaml:"lag"`
	Exceptions []Exception `yaml:"exceptions"`
	// Line is where the policy: block starts.
	Line int `yaml:"-"`
}

// Exception returns the exception for the pin called name, if any.
// The loader guarantees at most one exception per name.
func (p Policy) Exception(name string) (Exception, bool) {
	for _, e := range p.Exceptions {
		if e.Name == name {
			return e, true
		}
	}
	return Exception{}, false
}

// Exception lets the pin called Name stay outside policy at version Allow (or
// newer) until the date Until (YYYY-MM-DD, inclusive). Name is a toolchains:
// key, "kernel", or a module path from go.mod.
type Exception struct {
	Name   string `yaml:"name"`
	Allow  string `yaml:"allow"`
	Until  string `yaml:"until"`
	Reason string `yaml:"reason"`
	// Line and Column are where the exception is written, for error messages.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
	// Index is the exception's position in policy.exceptions (for rewrites).
	Index int `yaml:"-"`
}

// Pin is one toolchain version checked against an upstream feed.
type Pin struct {
	// Name is the key under toolchains: (go, rust, ...).
	Name    string `yaml:"-"`
	Version string `yaml:"version"`
	Feed    string `yaml:"feed"`
	// Line and Column are where the version value is written.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
}

// Kernel pins the guest kernel source.
type Kernel struct {
	// Version is the upstream kernel version, e.g. 6.12.117.
	Version string `yaml:"version"`
	// URL and SHA256 pin the source archive. It may be a kernel.org tarball
	// or a Debian linux-source .deb (which carries the tarball).
	URL    string `yaml:"url"`
	SHA256 string `yaml:"sha256"`
	Feed   string `yaml:"feed"`
	// Line and Column are where the version value is written.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
}

// Series is the kernel's MAJOR.MINOR (the stable/longterm branch).
func (k Kernel) Series() string {
	parts := strings.SplitN(k.Version, ".", 3)
	if len(parts) < 2 {
		return k.Version
	}
	return parts[0] + "." + parts[1]
}

// Firmware pins the source of the firmware confidential guests boot.
type Firmware struct {
	Edk2 Edk2 `yaml:"edk2"`
}

// Edk2 pins the edk2 source OVMF is built from: an upstream stable release
// (Version 2025.02 is the tag edk2-stable202502), as a tarball, and the
// patch series applied on top of it.
type Edk2 struct {
	Version string `yaml:"version"`
	URL     string `yaml:"url"`
	SHA256  string `yaml:"sha256"`
	// PatchesURL and PatchesSHA256 pin a Debian debian.tar.xz: its
	// debian/patches/series is applied in order (Debian's security fixes and
	// the patches that let the tarball build without its missing submodules).
	PatchesURL    string `yaml:"-"`
	PatchesSHA256 string `yaml:"-"`
	Feed          string `yaml:"feed"`
	// Line and Column are where the version value is written.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
}

// Tag is the upstream tag of the release: edk2-stable202502 for 2025.02.
func (e Edk2) Tag() string { return "edk2-stable" + strings.ReplaceAll(e.Version, ".", "") }

// Distro pins the Debian suite builder images and rootfs come from.
type Distro struct {
	Name   string `yaml:"name"`
	Suite  string `yaml:"suite"`
	Mirror string `yaml:"mirror"`
	// Feed is FeedDebian when the suite is gated by the release policy;
	// only toolchain.yaml's distro may carry it (an image's suite follows it).
	Feed string `yaml:"feed"`
	// Line is where the suite is written, for the policy's file:line.
	Line int `yaml:"-"`
}

// Builder is one builder image: the Debian packages a pipeline step needs.
type Builder struct {
	Packages []string `yaml:"packages"`
	// Digest optionally references a prebuilt image in a registry
	// (repo@sha256:...); used where a registry is reachable.
	Digest string `yaml:"digest"`
}

// Target is one entry of the build matrix.
type Target struct {
	Arch        string   `yaml:"arch"`
	Variant     string   `yaml:"variant"`
	Images      []string `yaml:"images"`
	Status      string   `yaml:"status"` // supported | experimental | deprecated | removed
	Maintainers []string `yaml:"maintainers"`
	// DeprecatedSince and RemovalDate (YYYY-MM-DD) are required for deprecated targets.
	DeprecatedSince string `yaml:"deprecated_since"`
	RemovalDate     string `yaml:"removal_date"`
	// Measure, when set, makes the target confidential: attest writes its
	// reference-values-<variant>.json over this matrix.
	Measure *Measure `yaml:"measure"`
	// Line and Column are where the target entry starts.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
}

// Measure is a confidential target's measurement matrix (measure: under the
// target): which launches reference-values-<variant>.json holds a value for.
// A platform is measured when its keys are written: SEV-SNP with
// snp_cpu_types, TDX with tdx_page_orders.
type Measure struct {
	// VCPUs are the vCPU counts at launch (Kata's default_vcpus) SEV-SNP
	// values are computed for: each vCPU adds one VMSA page. TDX's MRTD
	// does not depend on them.
	VCPUs []int `yaml:"vcpus"`
	// SNPCPUTypes are QEMU -cpu models (internal/snpmeasure's names,
	// exactly as CPUTypes spells them).
	SNPCPUTypes []string `yaml:"snp_cpu_types"`
	// SNPGuestFeatures are SEV_FEATURES values: what the host's KVM sets
	// decides which one a launch carries, so a release lists each it supports.
	SNPGuestFeatures []uint64 `yaml:"snp_guest_features"`
	// TDXPageOrders are internal/tdxmeasure's page orders (per-page,
	// two-pass): the host kernel's choice.
	TDXPageOrders []string `yaml:"tdx_page_orders"`
	// Line and Column are where the measure: value starts.
	Line   int `yaml:"-"`
	Column int `yaml:"-"`
}

// Image is one images/<name>.yaml guest image definition.
type Image struct {
	Path string `yaml:"-"`

	// Name defaults to the file name without .yaml; if written it must match it.
	Name     string   `yaml:"name"`
	Distro   Distro   `yaml:"distro"`
	Variant  string   `yaml:"variant"` // mmdebstrap variant: minbase | required | ...
	Packages []string `yaml:"packages"`
	// Init is "agent" (agent is /init) or "systemd" (/init -> systemd, agent as a unit).
	Init  string `yaml:"init"`
	Agent Agent  `yaml:"agent"`
	// Files is an overlay directory relative to the image YAML.
	Files string `yaml:"files"`
	// Delete lists paths removed from the rootfs after install.
	Delete []string `yaml:"delete"`
	// Budget is the maximum uncompressed rootfs size, e.g. "64MiB".
	Budget string `yaml:"budget"`
	// Owners overrides uid:gid for paths in the initrd, e.g. {"/home/agent": "1000:1000"}.
	Owners map[string]string `yaml:"owners"`

	// BudgetBytes is Budget parsed (0 when no budget is set).
	BudgetBytes int64 `yaml:"-"`
	// FilesDir is Files resolved against the directory of the image YAML.
	FilesDir string `yaml:"-"`
}

// Agent says where the agent binary comes from: exactly one of the fields.
// Path is taken as written (the image pipeline resolves it).
type Agent struct {
	Path      string `yaml:"path"`
	URL       string `yaml:"url"`
	SHA256    string `yaml:"sha256"`
	Bootprobe bool   `yaml:"bootprobe"`
}
