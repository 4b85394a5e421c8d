package refvals

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"path"
	"slices"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/sha256sum"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// Spec is one confidential target of a release tree.
type Spec struct {
	Arch    arch.Arch
	Variant string
	// Kernel is the tree-relative path of the target's boot image
	// (<arch>/vmlinuz-<kver>-<cfg>): the caller knows which kernel is the
	// variant's (its config id, internal/kconfig).
	Kernel string
	// Images are the target's images; each needs its initrd in the tree.
	Images []string
	Matrix Matrix
}

// Target is the target s describes.
func (s Spec) Target() Target { return Target{Arch: s.Arch.Name, Variant: s.Variant} }

// Kata is the configuration the command line is computed from: Kata's
// shipped defaults (configuration-qemu-snp.toml, -tdx.toml) for a
// confidential initrd guest.
func Kata() KataConfig {
	return KataConfig{ConfidentialGuest: true, BlockDeviceDriver: "virtio-scsi", DisableGuestSELinux: true}
}

// Cmdline is the kernel command line Kata's runtime gives an initrd guest
// of a configured by k.
func (k KataConfig) Cmdline(a arch.Arch) (string, error) {
	return kata.KernelCmdline(kata.LaunchConfig{
		Arch: a, ConfidentialGuest: k.ConfidentialGuest, BlockDeviceDriver: k.BlockDeviceDriver,
		GuestSELinux: !k.DisableGuestSELinux, Debug: k.EnableDebug, LegacySerial: k.UseLegacySerial,
		KernelParams: k.KernelParams,
	})
}

// Generate computes the reference values of s from the files of t.
func Generate(t *dist.Tree, s Spec) (*Document, error) {
	d, err := generate(t, s)
	if err != nil {
		return nil, fmt.Errorf("reference values of %s: %w", s.Target().Name(), err)
	}
	return d, nil
}

func generate(t *dist.Tree, s Spec) (*Document, error) {
	if err := s.Matrix.check(); err != nil {
		return nil, err
	}
	ad, ok := t.Arch(s.Arch)
	if !ok {
		return nil, fmt.Errorf("the tree has no %s/ directory: build the target before attest", s.Arch.Name)
	}
	if kind, _, ok := artifact.KindOf(path.Base(s.Kernel)); !ok || kind != artifact.KernelImage || path.Dir(s.Kernel) != s.Arch.Name || !t.Has(s.Kernel) {
		return nil, fmt.Errorf("kernel %s is not a boot image (%s) of the tree's %s/ directory: SEV-SNP and TDX guests boot the compressed kernel QEMU gets as -kernel",
			s.Kernel, artifact.KernelImage, s.Arch.Name)
	}
	d := &Document{SchemaVersion: SchemaVersion, MediaType: MediaType, Release: t.Version, Target: s.Target()}
	kernel, err := read(t, s.Kernel, snpmeasure.MaxKernelSize, "a kernel")
	if err != nil {
		return nil, err
	}
	d.Kernel = describe(s.Kernel, kernel)
	var in Inputs
	if in, d.Firmware, err = firmware(t, ad, s.Matrix); err != nil {
		return nil, err
	}
	in.Kernel, in.KernelName = kernel, s.Kernel
	k := Kata()
	if in.Cmdline, err = k.Cmdline(s.Arch); err != nil {
		return nil, err
	}
	images := slices.Clone(s.Images)
	slices.Sort(images)
	for i, name := range images {
		if i > 0 && images[i-1] == name {
			return nil, fmt.Errorf("image %s is listed twice", name)
		}
		l, err := launch(t, ad, name, in, k, s.Matrix)
		if err != nil {
			return nil, err
		}
		d.Launches = append(d.Launches, l)
	}
	if len(d.Launches) == 0 {
		return nil, fmt.Errorf("no images: a launch needs the initrd of one of the target's images")
	}
	return d, nil
}

func launch(t *dist.Tree, ad dist.ArchDir, name string, in Inputs, k KataConfig, m Matrix) (Launch, error) {
	i := slices.IndexFunc(ad.Images, func(im dist.Image) bool { return im.Name == name && im.Initrd != "" })
	if i < 0 {
		return Launch{}, fmt.Errorf("image %s has no %s in %s/: its launch boots that initrd",
			name, artifact.InitrdName(name), ad.Arch.Name)
	}
	rel := ad.Images[i].Initrd
	initrd, err := read(t, rel, snpmeasure.MaxInitrdSize, "an initrd")
	if err != nil {
		return Launch{}, err
	}
	in.Initrd = initrd
	l := Launch{Image: name, Boot: BootInitrd, Initrd: describe(rel, initrd), Kata: k, Cmdline: in.Cmdline}
	if l.SNP, l.TDX, err = Measure(in, m); err != nil {
		return Launch{}, fmt.Errorf("image %s: %w", name, err)
	}
	return l, nil
}

// firmware reads and parses the firmware of every platform m measures.
func firmware(t *dist.Tree, ad dist.ArchDir, m Matrix) (Inputs, []Firmware, error) {
	var in Inputs
	var out []Firmware
	for _, tee := range m.TEEs() {
		p, ok := artifact.FirmwareFor(tee)
		if !ok {
			return in, nil, fmt.Errorf("no firmware is known for %s", tee)
		}
		rel, ok := ad.FirmwareOf(p.Platform)
		if !ok {
			return in, nil, fmt.Errorf("%s is missing: %s values are computed from the firmware the guest boots; build edk2's %s and place it there before attest, or drop %s from the target's measure: in toolchain.yaml",
				path.Join(ad.Arch.Name, artifact.FirmwareName(p.Platform)), tee, p.DSC, tee)
		}
		data, err := read(t, rel, snpmeasure.MaxFirmwareSize, "firmware")
		if err != nil {
			return in, nil, err
		}
		f := Firmware{TEE: tee, File: describe(rel, data), Edk2Platform: p.DSC}
		switch tee {
		case arch.TEESNP:
			if in.SNPFirmware, err = snpmeasure.ParseFirmware(data); err != nil {
				return in, nil, fmt.Errorf("%s: %w", rel, err)
			}
			if !in.SNPFirmware.HasSection(snpmeasure.SectionKernelHashes) || in.SNPFirmware.HashTableGPA == 0 {
				return in, nil, fmt.Errorf("%s: %w", rel, snpmeasure.ErrNoKernelHashes)
			}
			h := snpmeasure.OVMFHash(in.SNPFirmware)
			f.SNPOVMFHash = hex.EncodeToString(h[:])
		case arch.TEETDX:
			if in.TDXFirmware, err = tdxmeasure.ParseFirmware(data); err != nil {
				return in, nil, fmt.Errorf("%s: %w", rel, err)
			}
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Firmware) int { return cmp.Compare(a.TEE, b.TEE) })
	return in, out, nil
}

func read(t *dist.Tree, rel string, limit int64, what string) ([]byte, error) {
	return boundedio.ReadFileLimit(t.Path(rel), limit, what)
}

func describe(rel string, data []byte) File {
	sum, n, _ := sha256sum.Reader(bytes.NewReader(data)) // a bytes.Reader does not fail
	return File{Name: path.Base(rel), Size: n, SHA256: sum}
}

// Write computes the reference values of every spec and writes each as
// <arch>/reference-values-<variant>.json in t. It returns the tree-relative
// paths written, in spec order. Nothing is written unless every spec
// computes, so a failed attest leaves no partial set.
func Write(t *dist.Tree, specs []Spec) ([]string, error) {
	type file struct {
		rel  string
		body []byte
	}
	var files []file
	for _, s := range specs {
		d, err := Generate(t, s)
		if err != nil {
			return nil, err
		}
		body, err := Marshal(d)
		if err != nil {
			return nil, err
		}
		rel := path.Join(s.Arch.Name, artifact.ReferenceValuesName(s.Variant))
		if slices.ContainsFunc(files, func(f file) bool { return f.rel == rel }) {
			return nil, fmt.Errorf("reference values: %s is given twice", s.Target().Name())
		}
		files = append(files, file{rel, body})
	}
	var written []string
	for _, f := range files {
		if err := dist.WriteFile(t.Path(f.rel), f.body); err != nil {
			return nil, err
		}
		written = append(written, f.rel)
	}
	return written, nil
}
