package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/build/seed"
)

// seedPackages are what the seed must run: mmdebstrap, and mount for its chroot mounts.
var seedPackages = []string{"mmdebstrap", "mount"}

// seedRecipe versions the seed's content beyond its inputs: 2 prefers providers by
// Priority (mawk over gawk).
const seedRecipe = 2

// seedContainer returns the container mmdebstrap runs in: Debian's Essential set plus
// seedPackages, bootstrapped in Go (internal/build/seed) and cached as an OCI archive.
// It is the one image that cannot itself come from mmdebstrap.
func (p *Pipeline) seedContainer(ctx context.Context, spec BuilderSpec) (*dagger.Container, error) {
	h := sha256.New()
	// Bump seedRecipe when internal/build/seed changes what it unpacks.
	fmt.Fprintf(h, "guestforge seed %d\nmirror=%s\nsuite=%s\narch=%s\npackages=%s\n",
		seedRecipe, spec.Mirror, spec.Suite, spec.Arch.DebianArch, strings.Join(seedPackages, ","))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	path := p.dir("images", fmt.Sprintf("seed-%s-%s-%s.oci.tar", spec.Suite, spec.Arch.Name, key))
	if _, err := os.Stat(path); err == nil {
		return p.importArchive(path), nil
	}
	start := time.Now()
	p.Log.Info("seed image: bootstrapping in Go", "suite", spec.Suite, "arch", spec.Arch.Name)
	if err := os.MkdirAll(p.dir("images"), 0o755); err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	tmp, err := os.CreateTemp(p.dir("images"), ".seed-*.tar")
	if err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	o := seed.Options{
		Mirror: spec.Mirror, Suite: spec.Suite, Arch: spec.Arch.DebianArch, Packages: seedPackages,
		Keyring: p.Keyring, CacheDir: p.dir("debs"), Epoch: time.Unix(spec.Epoch, 0), Log: p.Log,
	}
	_, pkgs, err := seed.Resolve(ctx, o)
	if err == nil {
		err = seed.Build(ctx, o, seed.DebsOf(pkgs), tmp)
	}
	if err != nil {
		return nil, fmt.Errorf("bootstrap the seed image: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := p.writeArchive(path, tmp.Name(), spec.Arch, spec.Epoch); err != nil {
		return nil, err
	}
	p.Log.Info("seed image: built", "path", path, "took", time.Since(start).Round(time.Second))
	return p.importArchive(path), nil
}
