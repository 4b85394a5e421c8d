package refvals

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// The schema's identity. A change that a reader of an older version would
// misread or refuse (a field renamed, a meaning changed, a field added,
// since readers refuse unknown fields) is a new version and a new media
// type; docs/reference-values.md documents each. Version 2 added the TDX
// RTMRs and their assumptions. Version 1 was never published (no shipped
// target had a measure: block), so this reader does not read it.
const (
	SchemaVersion = 2
	MediaType     = "application/vnd.guestforge.reference-values.v2+json"
)

// BootInitrd is a Launch's Boot for QEMU direct boot of the kernel and the
// image's initrd (-kernel, -initrd, -append), Kata's initrd = ... guests.
const BootInitrd = "initrd"

// VMMQEMU is the one VMM the values are computed for: Kata starts QEMU.
const VMMQEMU = "qemu"

// MaxFileBytes bounds a reference-values file read back: a full matrix is a
// few KiB.
const MaxFileBytes = 1 * boundedio.MiB

// Document is one reference-values-<variant>.json. The field order is the
// file's order.
type Document struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
	// Release is the release version (dist/<version>/'s name).
	Release string `json:"release"`
	Target  Target `json:"target"`
	// Kernel is the boot image QEMU gets as -kernel (vmlinuz-<kver>-<cfg>).
	Kernel File `json:"kernel"`
	// Firmware is one entry per measured platform, sorted by TEE.
	Firmware []Firmware `json:"firmware"`
	// Launches is one entry per image of the target, sorted by image.
	Launches []Launch `json:"launches"`
}

// Target names the toolchain.yaml target the values are of.
type Target struct {
	Arch    string `json:"arch"`
	Variant string `json:"variant"`
}

// Name is the target as the support matrix and messages write it.
func (t Target) Name() string { return t.Arch + "/" + t.Variant }

// File is one release file a launch reads: its base name in the arch
// directory, its size and its SHA-256 (as SHA256SUMS has it; for the kernel
// and initrd also what QEMU puts in the SEV hashes table).
type File struct {
	Name   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Firmware is the firmware one platform boots.
type Firmware struct {
	// TEE is arch.TEESNP or arch.TEETDX.
	TEE string `json:"tee"`
	File
	// Edk2Platform is the edk2 platform description the build must come
	// from: the measurement relies on what it lays out.
	Edk2Platform string `json:"edk2Platform"`
	// SNPOVMFHash is, for SEV-SNP, the launch digest after the firmware's
	// own pages (sev-snp-measure's --snp-ovmf-hash): the same for every
	// kernel, vCPU count and CPU type.
	SNPOVMFHash string `json:"snpOvmfHash,omitempty"`
}

// Launch is one image booted with the target's kernel.
type Launch struct {
	Image string `json:"image"`
	// Boot is how the guest is started: BootInitrd.
	Boot   string `json:"boot"`
	Initrd File   `json:"initrd"`
	// Kata is the configuration.toml the command line is derived from.
	Kata KataConfig `json:"kata"`
	// Cmdline is the kernel command line exactly as QEMU gets it (-append)
	// and SEV-SNP hashes it (plus its NUL).
	Cmdline string     `json:"cmdline"`
	SNP     []SNPValue `json:"snp,omitempty"`
	TDX     []TDXValue `json:"tdx,omitempty"`
}

// KataConfig is the part of Kata's configuration.toml that decides the
// command line of a confidential initrd guest, under Kata's own key names.
// The values are Kata's shipped defaults with confidential_guest on; a
// runtime configured otherwise boots with another command line, so it is
// written out where a user can compare it with their configuration.
type KataConfig struct {
	ConfidentialGuest   bool   `json:"confidential_guest"`
	BlockDeviceDriver   string `json:"block_device_driver"`
	DisableGuestSELinux bool   `json:"disable_guest_selinux"`
	EnableDebug         bool   `json:"enable_debug"`
	UseLegacySerial     bool   `json:"use_legacy_serial"`
	KernelParams        string `json:"kernel_params"`
}

// SNPValue is one SEV-SNP launch digest: the report's MEASUREMENT.
type SNPValue struct {
	VCPUs   int    `json:"vcpus"`
	CPUType string `json:"cpuType"`
	// GuestFeatures is SEV_FEATURES in hex, "0x21".
	GuestFeatures string `json:"guestFeatures"`
	VMM           string `json:"vmm"`
	Measurement   string `json:"measurement"`
}

// TDXValue is one TDX launch: MRTD, which depends on the firmware and the
// host's page order only, and RTMR[1] and RTMR[2], which depend on the
// launch's kernel, initrd and command line (internal/tdxmeasure).
type TDXValue struct {
	PageOrder string `json:"pageOrder"`
	MRTD      string `json:"mrtd"`
	RTMR1     string `json:"rtmr1"`
	RTMR2     string `json:"rtmr2"`
	// Assumptions names what the values hold for, next to them:
	// TDXAssumptions(PageOrder).
	Assumptions string `json:"assumptions"`
}

// TDXAssumptions is the text a TDX value carries: the host stack MRTD's page
// order stands for, and what RTMR[1] and RTMR[2] were derived for. Verify
// recomputes it like every other value, so a file cannot claim other
// assumptions than the code that wrote it.
func TDXAssumptions(pageOrder string) string {
	host := "host adds TDVF pages one at a time (Linux KVM >= 6.16 with QEMU >= 10.1)"
	if pageOrder != "per-page" {
		host = "host adds all of a TDVF section's pages before it extends them (pre-upstream TDX hosts)"
	}
	return "mrtd: " + host + ". rtmr1, rtmr2: QEMU >= 10.1 direct boot with -kernel, -initrd, -append and no -shim or -dtb " +
		"(QEMU hands over the kernel file unchanged as etc/boot/kernel), edk2 2025.02 OvmfPkg/IntelTdx TDVF, " +
		"a kernel whose EFI stub measures through the CC measurement protocol (Linux 6.12's does), " +
		"no PCI option ROM run by the firmware. vCPU count and memory size enter none of the three; RTMR[0] is not given"
}

// The keys that name a list element in a path (Mismatch.Field), so a
// difference reads as launches[image=default].snp[vcpus=2,...] rather than
// as an index that depends on sorting.
func (f Firmware) key() string { return "tee=" + f.TEE }
func (l Launch) key() string   { return "image=" + l.Image }
func (v SNPValue) key() string {
	return "vcpus=" + strconv.Itoa(v.VCPUs) + ",cpuType=" + v.CPUType + ",guestFeatures=" + v.GuestFeatures + ",vmm=" + v.VMM
}
func (v TDXValue) key() string { return "pageOrder=" + v.PageOrder }

// FormatGuestFeatures writes SEV_FEATURES as the file does.
func FormatGuestFeatures(f uint64) string { return "0x" + strconv.FormatUint(f, 16) }

// Marshal renders d in the file's one form: the struct order, two-space
// indentation, no HTML escaping (a command line may hold '<' or '&'), one
// final newline.
func Marshal(d *Document) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("reference values: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Parse reads a reference-values file of this schema version; name is used
// in errors. Unknown fields are refused: a value this reader does not know
// is one it cannot verify.
func Parse(name string, data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: not a reference-values document: %w (write it again with `release attest`)", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the document: write it again with `release attest`", name)
	}
	if d.SchemaVersion != SchemaVersion || d.MediaType != MediaType {
		return nil, fmt.Errorf("%s: schema version %d (%s); this release tool reads version %d (%s): verify it with the guestforge release that wrote it",
			name, d.SchemaVersion, d.MediaType, SchemaVersion, MediaType)
	}
	return &d, nil
}
