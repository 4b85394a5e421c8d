package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/build/seed"
	"github.com/guestforge/guestforge/internal/debrepo"
)

// seedRecipe versions the seed's content beyond its lock: 2 prefers providers by
// Priority (mawk over gawk); 3 unpacks exactly builders/seed.lock.
const seedRecipe = 3

// seedContainer returns the container mmdebstrap runs in: the packages of the seed's
// lock (Debian's Essential set plus seed.Packages), each verified against the lock and
// unpacked in Go (internal/build/seed), cached as an OCI archive under the lock's
// digest. It is the one image that cannot itself come from mmdebstrap.
func (p *Pipeline) seedContainer(ctx context.Context, spec BuilderSpec) (*dagger.Container, error) {
	sec, err := section(spec.Seed, spec.Arch.DebianArch)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "guestforge seed %d\nepoch=%d\nlock=%s\n", seedRecipe, spec.Epoch, spec.Seed.Digest(sec))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	path := p.dir("images", fmt.Sprintf("seed-%s-%s-%s.oci.tar", spec.Suite, spec.Arch.Name, key))
	if _, err := os.Stat(path); err == nil {
		return p.importArchive(path), nil
	}
	start := time.Now()
	debs, err := p.lockedDebs(ctx, spec.Seed, sec)
	if err != nil {
		return nil, err
	}
	p.Log.Info("seed image: unpacking the seed's lock in Go", "suite", spec.Suite, "arch", spec.Arch.Name, "packages", len(debs))
	if err := os.MkdirAll(p.dir("images"), 0o755); err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	tmp, err := os.CreateTemp(p.dir("images"), ".seed-*.tar")
	if err != nil {
		return nil, fmt.Errorf("create the image cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	o := seed.Options{Mirror: spec.Seed.Mirror, Suite: spec.Seed.Suite, Arch: sec.Arch, Keyring: p.Keyring,
		CacheDir: p.dir("debs"), Epoch: time.Unix(spec.Epoch, 0), Log: p.Log}
	sdebs := make([]seed.Deb, len(debs))
	for i, d := range debs {
		sdebs[i] = seed.Deb{Name: sec.Packages[i].Name, Want: debrepo.Want{Filename: d.Filename, SHA256: d.SHA256, Size: d.Size}}
	}
	if err := seed.Build(ctx, o, sdebs, tmp); err != nil {
		return nil, fmt.Errorf("bootstrap the seed image from %s: %w", spec.Seed.Path, err)
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
