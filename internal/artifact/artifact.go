// Package artifact is the one vocabulary of build artifact names: the files
// internal/build writes into dist/<arch>/ (docs/architecture.md, Artifacts),
// their kinds, the functions that name them and KindOf, which reads a name
// back. Producers build names here and every reader asks KindOf, so no package
// switches on "rootfs-" or "vmlinuz-" prefixes of its own.
//
// The files the release stage adds at the top of dist/<version>/
// (SHA256SUMS, sbom.spdx.json, provenance.intoto.jsonl) and the Sigstore
// bundles beside each file are not artifacts: internal/release/dist names
// them, and KindOf refuses them.
package artifact

import (
	"fmt"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// Kind is what a file of an arch directory is.
type Kind int

// The kinds, in the order the layout table of docs/architecture.md lists
// them. The zero Kind is no artifact.
const (
	_ Kind = iota
	// KernelImage is vmlinuz-<release>-<cfg>: the compressed boot image
	// (bzImage, Image.gz). Absent where the arch boots the ELF (ppc64le).
	KernelImage
	// Kernel is vmlinux-<release>-<cfg>: the uncompressed ELF kernel.
	Kernel
	// KernelConfig is config-<release>-<cfg>: the kernel's final .config.
	KernelConfig
	// SystemMap is System.map-<release>-<cfg>.
	SystemMap
	// Initrd is initrd-<image>.img.
	Initrd
	// RootfsImage is rootfs-<image>.img: the disk image (Kata's layout by
	// default).
	RootfsImage
	// VerityTree is rootfs-<image>.img.verity: the dm-verity hash tree as a
	// separate file, in the raw layout only.
	VerityTree
	// VerityParams is verity-<image>.params: Kata's kernel_verity_params value.
	VerityParams
	// VerityCmdline is verity-<image>.cmdline: the root part of the kernel
	// command line.
	VerityCmdline
	// RootHash is root_hash.txt: the root hashes of an arch's verity images,
	// in sha256sum format.
	RootHash
	// ImageSBOM is sbom-<image>.spdx.json: an image's SPDX SBOM (attest).
	ImageSBOM
	// Firmware is ovmf-<platform>.fd: an edk2 OVMF build a confidential
	// guest boots, named by its edk2 platform (FirmwareAmdSev,
	// FirmwareIntelTdx). The launch measurement starts from its bytes.
	Firmware
	// ReferenceValues is reference-values-<variant>.json: what a correct
	// launch of the arch's <variant> kernel measures (internal/release/refvals,
	// written by attest).
	ReferenceValues
)

// The edk2 platforms a Firmware artifact is built from: OvmfPkg/AmdSev
// (SEV-SNP measured direct boot: the SEV hashes table) and OvmfPkg/IntelTdx
// (TDVF). They are the <platform> of ovmf-<platform>.fd.
const (
	FirmwareAmdSev   = "amdsev"
	FirmwareIntelTdx = "inteltdx"
)

// FirmwarePlatform is the firmware one TEE boots: the edk2 platform word of
// its artifact (ovmf-<platform>.fd), the platform description it is built
// from and the directory under Build/ where edk2 leaves it.
type FirmwarePlatform struct {
	TEE, Platform, DSC, BuildDir string
}

// firmwarePlatforms are the OVMF builds the measurement code reads. SEV-SNP
// measured direct boot needs AmdSev's SEV hashes table (internal/snpmeasure);
// TDX needs a TDVF, which IntelTdx is.
var firmwarePlatforms = []FirmwarePlatform{
	{arch.TEESNP, FirmwareAmdSev, "OvmfPkg/AmdSev/AmdSevX64.dsc", "AmdSev"},
	{arch.TEETDX, FirmwareIntelTdx, "OvmfPkg/IntelTdx/IntelTdxX64.dsc", "IntelTdx"},
}

// FirmwareFor is the firmware tee (arch.TEESNP, arch.TEETDX) boots.
func FirmwareFor(tee string) (FirmwarePlatform, bool) {
	for _, p := range firmwarePlatforms {
		if p.TEE == tee {
			return p, true
		}
	}
	return FirmwarePlatform{}, false
}

// RootHashName is the one fixed artifact name: an arch's root hash list.
const RootHashName = "root_hash.txt"

// SBOMSuffix ends every SPDX document of a release: the image SBOMs here and
// the release's index (internal/release/dist).
const SBOMSuffix = ".spdx.json"

// Parts are what a name carries besides its kind: the image for image kinds,
// the kernel release and config id for kernel kinds, nothing for RootHash.
type Parts struct {
	// Image is the guest image's name (images/<name>.yaml).
	Image string
	// Release is the kernel release, as kbuild's kernel.release has it
	// (6.12.117, 6.13-rc1).
	Release string
	// ConfigID is the config id of the merged fragment set
	// (internal/kconfig): letters and digits only.
	ConfigID string
	// Platform is a Firmware's edk2 platform (FirmwareAmdSev, ...).
	Platform string
	// Variant is the kernel-configs variant a ReferenceValues file is of.
	Variant string
}

// shape is how one kind is spelled: prefix + parts + suffix.
type shape struct {
	kind           Kind
	prefix, suffix string
	parts          partsOf
}

type partsOf int

const (
	noParts partsOf = iota
	imageParts
	kernelParts
	// wordParts are one lowercase word (a Firmware's platform, a
	// ReferenceValues file's variant): nothing that could end in another
	// kind's suffix, so "reference-values-x.spdx.json" is not read as an SBOM.
	wordParts
)

var shapes = []shape{
	{KernelImage, "vmlinuz-", "", kernelParts},
	{Kernel, "vmlinux-", "", kernelParts},
	{KernelConfig, "config-", "", kernelParts},
	{SystemMap, "System.map-", "", kernelParts},
	{Initrd, "initrd-", ".img", imageParts},
	{RootfsImage, "rootfs-", ".img", imageParts},
	{VerityTree, "rootfs-", ".img.verity", imageParts},
	{VerityParams, "verity-", ".params", imageParts},
	{VerityCmdline, "verity-", ".cmdline", imageParts},
	{RootHash, RootHashName, "", noParts},
	{ImageSBOM, "sbom-", SBOMSuffix, imageParts},
	{Firmware, "ovmf-", ".fd", wordParts},
	{ReferenceValues, "reference-values-", ".json", wordParts},
}

func shapeOf(k Kind) shape {
	for _, s := range shapes {
		if s.kind == k {
			return s
		}
	}
	panic(fmt.Sprintf("artifact: no such kind %d", int(k)))
}

// Kinds are every kind, in layout order.
func Kinds() []Kind {
	out := make([]Kind, len(shapes))
	for i, s := range shapes {
		out[i] = s.kind
	}
	return out
}

// String is the kind's name pattern, "initrd-<image>.img", for messages.
func (k Kind) String() string {
	for _, s := range shapes {
		if s.kind == k {
			switch s.parts {
			case imageParts:
				return s.prefix + "<image>" + s.suffix
			case kernelParts:
				return s.prefix + "<release>-<cfg>"
			case wordParts:
				return s.prefix + "<" + s.word() + ">" + s.suffix
			}
			return s.prefix
		}
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsKernel reports whether k is one of a kernel build's files.
func (k Kind) IsKernel() bool {
	switch k {
	case KernelImage, Kernel, KernelConfig, SystemMap:
		return true
	}
	return false
}

// Name is the file name of kind k with parts p. It only joins: the parts are
// not checked, so a placeholder ("<cfg>", in a plan) makes a name KindOf
// refuses. It panics on a kind that is not one of the constants above.
func Name(k Kind, p Parts) string {
	s := shapeOf(k)
	switch s.parts {
	case imageParts:
		return s.prefix + p.Image + s.suffix
	case kernelParts:
		return s.prefix + p.Release + "-" + p.ConfigID
	case wordParts:
		if s.kind == Firmware {
			return s.prefix + p.Platform + s.suffix
		}
		return s.prefix + p.Variant + s.suffix
	}
	return s.prefix
}

// word names the one part of a wordParts shape, for String.
func (s shape) word() string {
	if s.kind == Firmware {
		return "platform"
	}
	return "variant"
}

// KernelName names one file of a kernel build: KernelName(KernelImage,
// "6.12.117", "3f2a9c1d0e4b") is "vmlinuz-6.12.117-3f2a9c1d0e4b". It panics
// when k is not a kernel kind.
func KernelName(k Kind, release, configID string) string {
	if !k.IsKernel() {
		panic(fmt.Sprintf("artifact: KernelName of %v, which is not a kernel file", k))
	}
	return Name(k, Parts{Release: release, ConfigID: configID})
}

// InitrdName is initrd-<image>.img.
func InitrdName(image string) string { return Name(Initrd, Parts{Image: image}) }

// RootfsImageName is rootfs-<image>.img.
func RootfsImageName(image string) string { return Name(RootfsImage, Parts{Image: image}) }

// VerityTreeName is rootfs-<image>.img.verity.
func VerityTreeName(image string) string { return Name(VerityTree, Parts{Image: image}) }

// VerityParamsName is verity-<image>.params.
func VerityParamsName(image string) string { return Name(VerityParams, Parts{Image: image}) }

// VerityCmdlineName is verity-<image>.cmdline.
func VerityCmdlineName(image string) string { return Name(VerityCmdline, Parts{Image: image}) }

// ImageSBOMName is sbom-<image>.spdx.json.
func ImageSBOMName(image string) string { return Name(ImageSBOM, Parts{Image: image}) }

// FirmwareName is ovmf-<platform>.fd: FirmwareName(FirmwareAmdSev) is
// "ovmf-amdsev.fd".
func FirmwareName(platform string) string { return Name(Firmware, Parts{Platform: platform}) }

// ReferenceValuesName is reference-values-<variant>.json.
func ReferenceValuesName(variant string) string {
	return Name(ReferenceValues, Parts{Variant: variant})
}

// KindOf reads a base name back into its kind and parts. It refuses every name
// that is not an artifact: a path (anything with a slash), the release stage's
// files (SHA256SUMS, sbom.spdx.json, bundles), and names with an empty image,
// release or config id ("rootfs-.img", "vmlinux-"). The config id is the part
// after the last dash and must be letters and digits, so releases with dashes
// (6.13-rc1) still parse, and Name(KindOf(name)) == name for every name it
// accepts.
func KindOf(name string) (Kind, Parts, bool) {
	if strings.Contains(name, "/") {
		return 0, Parts{}, false
	}
	for _, s := range shapes {
		rest, ok := strings.CutPrefix(name, s.prefix)
		if !ok {
			continue
		}
		if rest, ok = strings.CutSuffix(rest, s.suffix); !ok {
			continue
		}
		switch s.parts {
		case noParts:
			if rest == "" {
				return s.kind, Parts{}, true
			}
		case imageParts:
			if rest != "" {
				return s.kind, Parts{Image: rest}, true
			}
		case kernelParts:
			i := strings.LastIndexByte(rest, '-')
			if i > 0 && i < len(rest)-1 && strings.IndexFunc(rest[i+1:], notAlnum) < 0 {
				return s.kind, Parts{Release: rest[:i], ConfigID: rest[i+1:]}, true
			}
		case wordParts:
			if isWord(rest) {
				if s.kind == Firmware {
					return s.kind, Parts{Platform: rest}, true
				}
				return s.kind, Parts{Variant: rest}, true
			}
		}
	}
	return 0, Parts{}, false
}

// isWord is what a variant name is in toolchain.yaml: a lowercase letter,
// then lowercase letters, digits, '-' or '_'. No dot, so no suffix of
// another kind fits in it.
func isWord(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_'
	}) < 0
}

func notAlnum(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
}
