package pkglock

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/seed"
	"github.com/guestforge/guestforge/internal/manifest"
)

// ImagesDir is where image definitions and their locks live in a checkout.
const ImagesDir = "images"

// Need is one lock a checkout needs, with what it must answer and what is on disk.
type Need struct {
	// Path is the lock file (under the checkout root as given).
	Path   string
	Inputs Inputs
	// Lock is the lock on disk; nil when it is missing or does not parse.
	Lock *Lock
	// Err says why the lock cannot be built from: missing (errors.Is ErrNoLock), not
	// parsing, or stale (*StaleError). Nil for a lock that answers Inputs.
	Err error
}

// Needs lists the locks of the checkout at root, in the order they are resolved: the
// seed, then each builder toolchain.yaml defines without a prebuilt digest (the
// builders run on the engine's platform: builderArches, Debian names), then each image
// a target lists that has a definition, for its targets' architectures. An image
// definition that does not load is an error; a lock that is missing, broken or stale
// is a Need with Err.
func Needs(root string, tc *manifest.Toolchain, builderArches []string) ([]Need, error) {
	if _, clash := tc.Builders[SeedName]; clash {
		return nil, fmt.Errorf("%s: builders.%s: the name is taken by the seed's lock (%s/%s.lock); rename the builder", tc.Path, SeedName, BuildersDir, SeedName)
	}
	var out []Need
	out = append(out, need(BuilderPath(root, SeedName), SeedInputs(tc, builderArches)))
	for _, name := range slices.Sorted(maps.Keys(tc.Builders)) {
		if tc.Builders[name].Digest != "" {
			continue // a prebuilt image pinned by digest: the registry's bytes, not ours
		}
		out = append(out, need(BuilderPath(root, name), BuilderInputs(tc, name, builderArches)))
	}
	images, err := TargetImages(tc)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(images)) {
		def := filepath.Join(root, ImagesDir, name+".yaml")
		img, err := manifest.LoadImage(def)
		if errors.Is(err, fs.ErrNotExist) {
			continue // built from elsewhere: nothing here to lock
		}
		if err != nil {
			return nil, err
		}
		out = append(out, need(ImagePath(filepath.Join(root, ImagesDir), name), ImageInputs(tc, img, images[name])))
	}
	return out, nil
}

func need(path string, in Inputs) Need {
	n := Need{Path: path, Inputs: in}
	l, err := Load(path)
	if err != nil {
		if errors.Is(err, ErrNoLock) {
			err = in.Missing(path)
		}
		n.Err = err
		return n
	}
	n.Lock, n.Err = l, l.Check(in)
	return n
}

// Missing is the error for a lock of in that does not exist at path.
func (in Inputs) Missing(path string) error {
	return fmt.Errorf("%w: %s does not exist; run `%s`, review and commit it", ErrNoLock, path, strings.Replace(Refresh(in.Kind, in.Name), " --update", "", 1))
}

// TargetImages maps each image the targets list to the Debian architectures that
// build it, sorted. Removed targets still count: their lock sections stay until the
// target leaves toolchain.yaml.
func TargetImages(tc *manifest.Toolchain) (map[string][]string, error) {
	out := map[string][]string{}
	for _, t := range tc.Targets {
		a, err := arch.Parse(t.Arch)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", tc.Path, t.Line, err)
		}
		for _, img := range t.Images {
			if !slices.Contains(out[img], a.DebianArch) {
				out[img] = append(out[img], a.DebianArch)
				slices.Sort(out[img])
			}
		}
	}
	return out, nil
}

// ImageInputs are what images/<name>.yaml asks of its lock: mmdebstrap of its variant
// (minbase when unset) and packages from its suite (toolchain.yaml's when unset) and
// toolchain.yaml's mirror, for arches.
func ImageInputs(tc *manifest.Toolchain, img *manifest.Image, arches []string) Inputs {
	return Inputs{Kind: KindImage, Name: img.Name, Suite: cmpOr(img.Distro.Suite, tc.Distro.Suite), Mirror: tc.Distro.Mirror,
		Variant: cmpOr(img.Variant, "minbase"), Include: Normalize(img.Packages), Arches: arches,
		Definition: filepath.Join(ImagesDir, img.Name+".yaml")}
}

// BuilderVariant is the mmdebstrap variant builder images are made with.
const BuilderVariant = "minbase"

// BuilderInputs are what builders.<name> asks of its lock.
func BuilderInputs(tc *manifest.Toolchain, name string, arches []string) Inputs {
	return Inputs{Kind: KindBuilder, Name: name, Suite: tc.Distro.Suite, Mirror: tc.Distro.Mirror, Variant: BuilderVariant,
		Include: Normalize(tc.Builders[name].Packages), Arches: arches, Definition: "builders." + name + " of " + cmpOr(tc.Path, "toolchain.yaml")}
}

// SeedInputs are what the seed asks of its lock: the Essential set and seed.Packages.
func SeedInputs(tc *manifest.Toolchain, arches []string) Inputs {
	return Inputs{Kind: KindSeed, Name: SeedName, Suite: tc.Distro.Suite, Mirror: tc.Distro.Mirror,
		Include: Normalize(seed.Packages), Arches: arches, Definition: "distro: of " + cmpOr(tc.Path, "toolchain.yaml") + " and the seed's packages"}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
