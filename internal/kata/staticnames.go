package kata

import (
	"fmt"
	"io"
	"strings"
)

// Artifact is a kind of file guestforge hands to kata-deploy.
type Artifact string

const (
	// ArtifactVmlinux is the uncompressed kernel (Kata's QEMU configurations
	// boot vmlinux.container on x86_64 and aarch64).
	ArtifactVmlinux Artifact = "vmlinux"
	// ArtifactVmlinuz is the compressed boot image (bzImage, Image.gz; the
	// ELF vmlinux on ppc64le, as Kata's build-kernel.sh installs it).
	ArtifactVmlinuz Artifact = "vmlinuz"
	// ArtifactImage is a rootfs disk image (configuration.toml `image`).
	ArtifactImage Artifact = "image"
	// ArtifactInitrd is an initrd (configuration.toml `initrd`).
	ArtifactInitrd Artifact = "initrd"
	// ArtifactRootHash is a measured image's kernel_verity_params, in the
	// root_hash_<label>.txt file Kata's image builder writes beside it.
	ArtifactRootHash Artifact = "root-hash"
)

// StaticName is where kata-deploy installs one artifact under
// /opt/kata/share/kata-containers/: File is the versioned file, Link the
// stable name configuration.toml points at (a symlink to File; empty when
// Kata makes none). Placeholders {kver}, {cfg}, {distro} and {version} are
// filled from NameVars.
type StaticName struct {
	Artifact Artifact
	Variant  string
	File     string
	Link     string
}

// StaticNames is kata-deploy's naming, reproduced for the artifacts
// guestforge builds. Sources: tools/packaging/kernel/build-kernel.sh
// install_kata (vmlinux-<version>-<config version><suffix>, symlinked as
// vmlinux<suffix>.container, suffix "-debug", "-nvidia-gpu" or
// "-<build type>"), tools/packaging/guest-image/build_image.sh
// (kata-<distro>-<version>[-<variant>].image|.initrd, symlinked as
// kata-containers[-initrd][-<variant>].img) and
// tools/osbuilder/image-builder/image_builder.sh setup_verity
// (root_hash_<variant>.txt; kata-deploy labels the measured base image
// "base").
//
// Variant "default" is Kata's unsuffixed artifact. Kata's current tree builds
// one kernel for confidential and plain guests alike; the "confidential"
// kernel here keeps the -confidential suffix older kata-deploy releases
// shipped (build type "confidential"), because guestforge builds it from a
// separate fragment set and it must not overwrite vmlinux.container.
//
// Kata artifacts guestforge does not ship, so the tree has none of their
// names: config-* and System.map-* beside the kernels, the NVIDIA GPU images
// and initrds (kata-containers-nvidia-gpu*.img and their driver-versioned
// files), the CoCo and devkit extension images, the s390x Secure Execution
// image kata-containers-se.img, the dragonball kernels, and everything outside
// share/kata-containers (runtime, shim, agent, QEMU, virtiofsd,
// configuration files).
var StaticNames = []StaticName{
	{ArtifactVmlinux, "default", "vmlinux-{kver}-{cfg}", "vmlinux.container"},
	{ArtifactVmlinux, "confidential", "vmlinux-{kver}-{cfg}-confidential", "vmlinux-confidential.container"},
	{ArtifactVmlinux, "debug", "vmlinux-{kver}-{cfg}-debug", "vmlinux-debug.container"},
	{ArtifactVmlinux, "nvidia-gpu", "vmlinux-{kver}-{cfg}-nvidia-gpu", "vmlinux-nvidia-gpu.container"},
	{ArtifactVmlinuz, "default", "vmlinuz-{kver}-{cfg}", "vmlinuz.container"},
	{ArtifactVmlinuz, "confidential", "vmlinuz-{kver}-{cfg}-confidential", "vmlinuz-confidential.container"},
	{ArtifactVmlinuz, "debug", "vmlinuz-{kver}-{cfg}-debug", "vmlinuz-debug.container"},
	{ArtifactVmlinuz, "nvidia-gpu", "vmlinuz-{kver}-{cfg}-nvidia-gpu", "vmlinuz-nvidia-gpu.container"},
	{ArtifactImage, "default", "kata-{distro}-{version}.image", "kata-containers.img"},
	{ArtifactImage, "confidential", "kata-{distro}-{version}-confidential.image", "kata-containers-confidential.img"},
	{ArtifactInitrd, "default", "kata-{distro}-{version}.initrd", "kata-containers-initrd.img"},
	{ArtifactInitrd, "confidential", "kata-{distro}-{version}-confidential.initrd", "kata-containers-initrd-confidential.img"},
	{ArtifactRootHash, "default", "root_hash_base.txt", ""},
	{ArtifactRootHash, "confidential", "root_hash_confidential.txt", ""},
}

// NameVars fills StaticNames' placeholders.
type NameVars struct {
	// KernelVersion is the kernel's release ("6.12.8"); ConfigVersion is
	// Kata's config version slot, which guestforge fills with its config id.
	KernelVersion string
	ConfigVersion string
	// Distro and DistroVersion name the image's base ("debian", "12").
	Distro        string
	DistroVersion string
}

// StaticEntries returns the tree entries for one artifact: the file (read
// through open, size bytes) and, where Kata has one, its stable symlink.
func StaticEntries(a Artifact, variant string, v NameVars, size int64, open func() (io.ReadCloser, error)) ([]StaticEntry, error) {
	for _, n := range StaticNames {
		if n.Artifact != a || n.Variant != variant {
			continue
		}
		file, err := fillName(n.File, v)
		if err != nil {
			return nil, fmt.Errorf("kata: naming %s variant %s: %w", a, variant, err)
		}
		entries := []StaticEntry{{Name: file, Size: size, Open: open}}
		if n.Link != "" {
			entries = append(entries, StaticEntry{Name: n.Link, LinkTarget: file})
		}
		return entries, nil
	}
	var known []string
	for _, n := range StaticNames {
		if n.Artifact == a {
			known = append(known, n.Variant)
		}
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("kata: no kata-deploy name for artifact %q: use one of vmlinux, vmlinuz, image, initrd, root-hash", a)
	}
	return nil, fmt.Errorf("kata: kata-deploy has no name for %s variant %q: use one of %s", a, variant, strings.Join(known, ", "))
}

func fillName(pattern string, v NameVars) (string, error) {
	for _, f := range []struct{ placeholder, value string }{
		{"{kver}", v.KernelVersion}, {"{cfg}", v.ConfigVersion}, {"{distro}", v.Distro}, {"{version}", v.DistroVersion},
	} {
		if !strings.Contains(pattern, f.placeholder) {
			continue
		}
		if f.value == "" || strings.ContainsAny(f.value, "/\x00") || f.value == "." || f.value == ".." {
			return "", fmt.Errorf("%s is %q in NameVars: set it to a plain name without '/'", f.placeholder, f.value)
		}
		pattern = strings.ReplaceAll(pattern, f.placeholder, f.value)
	}
	return pattern, nil
}
