// Package katastatic turns one architecture of a guestforge dist tree into the
// tree kata-deploy installs (/opt/kata/share/kata-containers/ with Kata's file
// names and stable symlinks), written as a deterministic tarball
// (internal/kata.WriteStaticTarball). It decides nothing about names itself:
// internal/kata holds Kata's naming; this package only maps dist artifacts onto it.
package katastatic

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/safepath"
)

// Options say which dist artifacts become which of Kata's.
type Options struct {
	// Arch is the canonical arch name of the directory to export.
	Arch string
	// KernelVariants maps a kernel's config id to the kernel-configs variant
	// it was built from (the config id is a hash of the merged fragments, so
	// the caller computes it with internal/kconfig). A kernel whose id is not
	// here is an error: exporting an unknown kernel under Kata's names would
	// install it where the runtime boots it.
	KernelVariants map[string]string
	// TestAsDefault installs the test variant's kernel as Kata's default
	// kernel when the tree has no default kernel (a `make` tree: the test
	// kernel boots every Kata launch the suite checks, but it is not a
	// release kernel).
	TestAsDefault bool
	// Image and Initrd are the guestforge images installed as
	// kata-containers.img and kata-containers-initrd.img; ConfidentialImage,
	// when set, as kata-containers-confidential.img. Empty Image or Initrd
	// leaves that artifact out.
	Image, Initrd, ConfidentialImage string
	// Distro and DistroVersion fill Kata's kata-<distro>-<version>.image names.
	Distro, DistroVersion string
	// Epoch is SOURCE_DATE_EPOCH: every member's mtime.
	Epoch int64
}

// kataVariant is Kata's suffix for a kernel-configs variant.
var kataVariant = map[string]string{"default": "default", "confidential": "confidential", "debug": "debug", "gpu": "nvidia-gpu"}

// Write writes the kata-static tarball of o.Arch in t to w and returns the
// member names (files and links) in the order Kata's table lists them.
func Write(w io.Writer, t *dist.Tree, o Options) ([]string, error) {
	var ad *dist.ArchDir
	for i := range t.Arches {
		if t.Arches[i].Arch.Name == o.Arch {
			ad = &t.Arches[i]
		}
	}
	if ad == nil {
		var have []string
		for _, a := range t.Arches {
			have = append(have, a.Arch.Name)
		}
		return nil, fmt.Errorf("%s has no %s directory (it has %s): build that arch first", t.Root, o.Arch, strings.Join(have, ", "))
	}
	names := kata.NameVars{Distro: o.Distro, DistroVersion: o.DistroVersion}
	var entries []kata.StaticEntry
	add := func(a kata.Artifact, variant, rel string, v kata.NameVars) error {
		file := t.Path(rel)
		st, err := os.Stat(file)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", file)
		}
		es, err := kata.StaticEntries(a, variant, v, st.Size(), func() (io.ReadCloser, error) { return os.Open(file) })
		if err != nil {
			return err
		}
		entries = append(entries, es...)
		return nil
	}

	hasDefault := false
	for _, k := range ad.Kernels {
		hasDefault = hasDefault || o.KernelVariants[k.ConfigID] == "default"
	}
	for _, k := range ad.Kernels {
		variant, ok := o.KernelVariants[k.ConfigID]
		if !ok {
			return nil, fmt.Errorf("%s/%s: kernel %s-%s was not built from any variant of this checkout's kernel-configs: export it from the checkout that built it", t.Root, o.Arch, k.Version, k.ConfigID)
		}
		kv, ok := kataVariant[variant]
		if variant == "test" && o.TestAsDefault && !hasDefault {
			kv, ok = "default", true
		}
		if !ok {
			hint := ""
			if variant == "test" {
				hint = "; a `make` tree's test kernel can stand in for the default one with --test-kernel-as-default"
			}
			return nil, fmt.Errorf("kernel %s-%s is the %s variant, which kata-deploy has no name for (it names default, confidential, debug and nvidia-gpu kernels)%s", k.Version, k.ConfigID, variant, hint)
		}
		v := names
		v.KernelVersion, v.ConfigVersion = k.Version, k.ConfigID
		for _, f := range []struct {
			a   kata.Artifact
			rel string
		}{{kata.ArtifactVmlinux, k.Vmlinux}, {kata.ArtifactVmlinuz, k.Vmlinuz}} {
			if f.rel == "" {
				continue
			}
			if err := add(f.a, kv, f.rel, v); err != nil {
				return nil, err
			}
		}
	}
	image := func(name string) *dist.Image {
		for i := range ad.Images {
			if ad.Images[i].Name == name {
				return &ad.Images[i]
			}
		}
		return nil
	}
	for _, c := range []struct {
		a            kata.Artifact
		variant, img string
	}{{kata.ArtifactImage, "default", o.Image}, {kata.ArtifactInitrd, "default", o.Initrd}, {kata.ArtifactImage, "confidential", o.ConfidentialImage}} {
		if c.img == "" {
			continue
		}
		im := image(c.img)
		rel := ""
		if im != nil {
			rel = im.Rootfs
			if c.a == kata.ArtifactInitrd {
				rel = im.Initrd
			}
		}
		if rel == "" {
			return nil, fmt.Errorf("%s/%s has no %s of image %q: build it, or name another image", t.Root, o.Arch, c.a, c.img)
		}
		if err := add(c.a, c.variant, rel, names); err != nil {
			return nil, err
		}
		if c.a != kata.ArtifactImage {
			continue
		}
		// A measured image ships its kernel_verity_params as Kata's image builder
		// leaves it, root_hash_<label>.txt.
		params := path.Join(o.Arch, artifact.VerityParamsName(c.img))
		if slices.Contains(ad.Files, params) {
			if err := add(kata.ArtifactRootHash, c.variant, params, names); err != nil {
				return nil, err
			}
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s/%s: nothing to export (no kernel, and no image or initrd named)", t.Root, o.Arch)
	}
	if err := kata.WriteStaticTarball(w, o.Epoch, entries); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name)
	}
	return out, nil
}

// Request is one `release export --layout kata-static`.
type Request struct {
	// Dist is the tree to export from: a release tree (dist/<version>/) or
	// what `make` and `release build` leave in dist/ (its logs/ is skipped).
	Dist string
	// Toolchain and KernelConfigs are the checkout's toolchain.yaml and
	// kernel-configs/: the epoch, the distro, and the config ids of the
	// variants, which say which kernel is which.
	Toolchain, KernelConfigs string
	// Out is the tarball to write (atomically; never an input).
	Out string
	// Options with KernelVariants, Distro, DistroVersion and Epoch left empty:
	// Export fills them from the checkout. A set Epoch (SOURCE_DATE_EPOCH) wins.
	Options
}

// Export writes the kata-static tarball of r and returns its member names.
func Export(r Request) ([]string, error) {
	if err := safepath.CheckOutput(r.Out, r.Dist, r.Toolchain, r.KernelConfigs); err != nil {
		return nil, err
	}
	tc, err := manifest.Load(r.Toolchain)
	if err != nil {
		return nil, err
	}
	tree, err := kconfig.Load(r.KernelConfigs)
	if err != nil {
		return nil, err
	}
	if err := r.Options.Fill(tc, tree); err != nil {
		return nil, err
	}
	t, err := dist.OpenSkipping(r.Dist, "logs")
	if err != nil {
		return nil, err
	}
	var names []string
	err = safepath.WriteFile(r.Out, 0o644, func(w io.Writer) error {
		var err error
		names, err = Write(w, t, r.Options)
		return err
	})
	return names, err
}

// Fill completes o from a checkout: the canonical arch name, the config id of
// every kernel-configs variant for the arch (which kernel is which), the distro
// of toolchain.yaml and, unless o.Epoch is set, its epoch. Both front doors
// (`release export`, `dagger call kata-static`) fill their options here.
func (o *Options) Fill(tc *manifest.Toolchain, tree *kconfig.Tree) error {
	a, err := arch.Parse(o.Arch)
	if err != nil {
		return err
	}
	o.Arch = a.Name
	if o.Epoch == 0 {
		o.Epoch = tc.Epoch
	}
	o.Distro, o.DistroVersion = tc.Distro.Name, tc.Distro.Suite
	o.KernelVariants = map[string]string{}
	for _, v := range tree.Variants() {
		m, err := tree.Merge(a, v)
		if errors.Is(err, kconfig.ErrNotApplicable) {
			continue
		}
		if err != nil {
			return err
		}
		o.KernelVariants[m.ID()] = v
	}
	return nil
}
