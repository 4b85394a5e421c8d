// Package arch is the single table of guest architectures. Every other package
// asks it instead of switching on arch strings, so adding an architecture is
// one row here.
package arch

import (
	"debug/elf"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// Arch describes one guest architecture in every vocabulary the pipelines need.
type Arch struct {
	// Name is the canonical name used in manifests, paths and reports.
	Name string
	// Aliases are accepted on input and mapped to Name.
	Aliases []string
	// KernelArch is the kernel's ARCH= value.
	KernelArch string
	// KataArch is Kata Containers' name for the arch in its kernel packaging
	// (build-kernel.sh arch_to_kernel): its fragment directory and the
	// "!<name>" exclusion tag. It is KernelArch except on x86_64.
	KataArch string
	// OCIPlatform is the OCI/Docker platform string (os/arch).
	OCIPlatform string
	// DebianArch is dpkg's architecture name.
	DebianArch string
	// GOARCH is Go's name, used to cross-build the agent stand-in.
	GOARCH string
	// Triplet is the GNU triplet; CrossCompile() adds the trailing dash.
	Triplet string
	// CrossGCCPackage is the Debian package with the cross compiler.
	CrossGCCPackage string
	// KernelImage is the boot image path relative to the kernel tree.
	KernelImage string
	// KernelTarget is the make target that produces KernelImage.
	KernelTarget string
	// ELFMachine, ELFClass and ELFData identify binaries built for this arch.
	ELFMachine elf.Machine
	ELFClass   elf.Class
	ELFData    elf.Data
	// QEMUSystem is the qemu-system binary, QEMUMachine its -machine value,
	// QEMUCPU its -cpu value under TCG and Console the kernel console device.
	QEMUSystem  string
	QEMUMachine string
	QEMUCPU     string
	Console     string
	// QEMUUser is the binfmt handler name used for foreign-arch rootfs builds.
	QEMUUser string
	// TEEs are the confidential VM platforms whose launch measurements
	// guestforge computes for this arch (TEESNP, TEETDX: both boot OVMF on
	// x86_64). None elsewhere yet: CCA and IBM Secure Execution have no
	// measurement code here.
	TEEs []string
}

// The confidential VM platforms of Arch.TEEs, as toolchain.yaml's measure:
// keys and reference-values.json name them.
const (
	TEESNP = "snp" // AMD SEV-SNP: internal/snpmeasure
	TEETDX = "tdx" // Intel TDX: internal/tdxmeasure
)

// CrossCompile is the CROSS_COMPILE prefix for the kernel build; empty on a
// native host so the host gcc is used.
func (a Arch) CrossCompile(host Arch) string {
	if a.Name == host.Name {
		return ""
	}
	return a.Triplet + "-"
}

// HasTEE reports whether tee (TEESNP, TEETDX) is one of a's TEEs.
func (a Arch) HasTEE(tee string) bool { return slices.Contains(a.TEEs, tee) }

// String returns the canonical name.
func (a Arch) String() string { return a.Name }

var table = []Arch{
	{
		Name: "x86_64", Aliases: []string{"amd64", "x86-64", "x64"},
		KernelArch: "x86", KataArch: "x86_64", OCIPlatform: "linux/amd64", DebianArch: "amd64", GOARCH: "amd64",
		Triplet: "x86_64-linux-gnu", CrossGCCPackage: "gcc-x86-64-linux-gnu",
		KernelImage: "arch/x86/boot/bzImage", KernelTarget: "bzImage",
		ELFMachine: elf.EM_X86_64, ELFClass: elf.ELFCLASS64, ELFData: elf.ELFDATA2LSB,
		QEMUSystem: "qemu-system-x86_64", QEMUMachine: "q35", QEMUCPU: "max", Console: "ttyS0",
		QEMUUser: "qemu-x86_64", TEEs: []string{TEESNP, TEETDX},
	},
	{
		Name: "aarch64", Aliases: []string{"arm64"},
		KernelArch: "arm64", KataArch: "arm64", OCIPlatform: "linux/arm64", DebianArch: "arm64", GOARCH: "arm64",
		Triplet: "aarch64-linux-gnu", CrossGCCPackage: "gcc-aarch64-linux-gnu",
		KernelImage: "arch/arm64/boot/Image", KernelTarget: "Image",
		ELFMachine: elf.EM_AARCH64, ELFClass: elf.ELFCLASS64, ELFData: elf.ELFDATA2LSB,
		QEMUSystem: "qemu-system-aarch64", QEMUMachine: "virt", QEMUCPU: "max", Console: "ttyAMA0",
		QEMUUser: "qemu-aarch64",
	},
	{
		Name: "s390x", Aliases: []string{"s390"},
		KernelArch: "s390", KataArch: "s390", OCIPlatform: "linux/s390x", DebianArch: "s390x", GOARCH: "s390x",
		Triplet: "s390x-linux-gnu", CrossGCCPackage: "gcc-s390x-linux-gnu",
		KernelImage: "arch/s390/boot/bzImage", KernelTarget: "bzImage",
		ELFMachine: elf.EM_S390, ELFClass: elf.ELFCLASS64, ELFData: elf.ELFDATA2MSB,
		QEMUSystem: "qemu-system-s390x", QEMUMachine: "s390-ccw-virtio", QEMUCPU: "max", Console: "ttysclp0",
		QEMUUser: "qemu-s390x",
	},
	{
		Name: "ppc64le", Aliases: []string{"ppc64el", "powerpc64le"},
		KernelArch: "powerpc", KataArch: "powerpc", OCIPlatform: "linux/ppc64le", DebianArch: "ppc64el", GOARCH: "ppc64le",
		Triplet: "powerpc64le-linux-gnu", CrossGCCPackage: "gcc-powerpc64le-linux-gnu",
		// Power guests (pseries) boot the ELF vmlinux directly; there is no compressed image.
		KernelImage: "vmlinux", KernelTarget: "vmlinux",
		ELFMachine: elf.EM_PPC64, ELFClass: elf.ELFCLASS64, ELFData: elf.ELFDATA2LSB,
		QEMUSystem: "qemu-system-ppc64", QEMUMachine: "pseries", QEMUCPU: "POWER9", Console: "hvc0",
		QEMUUser: "qemu-ppc64le",
	},
}

// All returns every supported architecture in table order.
func All() []Arch {
	out := make([]Arch, len(table))
	copy(out, table)
	return out
}

// Names returns the canonical names in table order.
func Names() []string {
	names := make([]string, len(table))
	for i, a := range table {
		names[i] = a.Name
	}
	return names
}

// Parse maps a canonical name or alias (case-insensitive) to its Arch.
func Parse(s string) (Arch, error) {
	want := strings.ToLower(strings.TrimSpace(s))
	for _, a := range table {
		if a.Name == want {
			return a, nil
		}
		for _, alias := range a.Aliases {
			if alias == want {
				return a, nil
			}
		}
	}
	return Arch{}, fmt.Errorf("unknown architecture %q: use one of %s (aliases: %s)",
		s, strings.Join(Names(), ", "), strings.Join(aliases(), ", "))
}

// MustParse is Parse for names known at compile time.
func MustParse(s string) Arch {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Host is the architecture of the machine running this process.
func Host() (Arch, error) {
	for _, a := range table {
		if a.GOARCH == runtime.GOARCH {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("host GOARCH %q is not a guestforge architecture (%s)", runtime.GOARCH, strings.Join(Names(), ", "))
}

// FromELF finds the architecture an ELF header was built for.
func FromELF(machine elf.Machine, class elf.Class, data elf.Data) (Arch, bool) {
	for _, a := range table {
		if a.ELFMachine == machine && a.ELFClass == class && a.ELFData == data {
			return a, true
		}
	}
	return Arch{}, false
}

func aliases() []string {
	var out []string
	for _, a := range table {
		out = append(out, a.Aliases...)
	}
	sort.Strings(out)
	return out
}
