package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/seed"
	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// LockRequest is one `release lock`: which package locks of a checkout to resolve.
type LockRequest struct {
	// Root is the checkout; its toolchain.yaml says what is locked.
	Root string
	// Update re-resolves locks that still answer their definitions (a refresh); without
	// it only missing, broken and stale locks are resolved.
	Update bool
	// Images and Builders restrict the run to these names (Builders may name the
	// seed); empty: every lock of the checkout. What a named lock is resolved in (the
	// seed, the rootfs builder) is resolved too when it is not current.
	Images, Builders []string
	// DryRun surveys the locks and previews an update from the mirror's index: no
	// engine, nothing written.
	DryRun bool
	// AsOf is the day lock ages are counted to.
	AsOf time.Time
	// Feeds is a directory of release feeds the dry run previews against (PreviewSource);
	// "": the manifest's mirror.
	Feeds string
	// Log gets progress; Progress the engine's (nil: discarded).
	Log      *slog.Logger
	Progress io.Writer
	// Open opens the engine session; nil means Open.
	Open func(context.Context, OpenSpec) (*Session, error)
}

// LockResult is what a `release lock` found and did.
type LockResult struct {
	// Statuses are the locks as they were before anything was resolved.
	Statuses []pkglock.Status
	// Resolved are the locks resolved (none on a dry run), in order.
	Resolved []LockWrite
}

// LockWrite is one resolved lock.
type LockWrite struct {
	Path string
	// Created: there was no readable lock before. Changes are against the old one.
	Created bool
	Changes []pkglock.Change
}

// ResolveLocks is `release lock`. The locks are resolved in the order they depend on
// each other: the seed (in Go, from the signed index), each builder (mmdebstrap from
// the live mirror inside the seed), each image (mmdebstrap in the rootfs builder,
// foreign arches through qemu-user); each lock records what dpkg then lists as
// installed, with every .deb's pool file, size and sha256 from the signed index. Each
// lock is written as soon as it is resolved, atomically, so a failure later keeps the
// locks before it and leaves the failing one as it was.
func ResolveLocks(ctx context.Context, req LockRequest) (*LockResult, error) {
	if req.Log == nil {
		req.Log = slog.New(slog.DiscardHandler)
	}
	if req.Open == nil {
		req.Open = Open
	}
	tc, err := manifest.Load(filepath.Join(req.Root, ToolchainFile))
	if err != nil {
		return nil, badInput(err)
	}
	if err := checkLockNames(tc, req); err != nil {
		return nil, badInput(err)
	}
	host, err := arch.Host()
	if err != nil {
		return nil, badInput(err)
	}
	res := &LockResult{}
	if req.DryRun {
		needs, err := pkglock.Needs(req.Root, tc, []string{host.DebianArch})
		if err != nil {
			return nil, badInput(err)
		}
		res.Statuses = pkglock.Survey(ctx, selectNeeds(needs, req), PreviewSource(req.Feeds, tc.Distro.Mirror), req.AsOf)
		return res, nil
	}
	s, err := req.Open(ctx, OpenSpec{Root: req.Root, Progress: req.Progress, Log: req.Log})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	p := s.Pipeline
	if host, err = p.enginePlatform(ctx); err != nil {
		return nil, err
	}
	needs, err := pkglock.Needs(req.Root, tc, []string{host.DebianArch})
	if err != nil {
		return nil, badInput(err)
	}
	res.Statuses = pkglock.Survey(ctx, selectNeeds(needs, req), nil, req.AsOf)
	r := &lockResolver{p: p, repo: s.Repo, tc: tc, host: host, locks: map[string]*pkglock.Lock{}}
	for _, n := range needs {
		if n.Lock != nil && n.Err == nil {
			r.locks[lockKey(n.Inputs.Kind, n.Inputs.Name)] = n.Lock
		}
	}
	for _, n := range r.plan(needs, req) {
		start := time.Now()
		req.Log.Info("lock: resolving", "lock", n.Path, "arches", n.Inputs.Arches)
		l, err := r.resolve(ctx, n)
		if err != nil {
			return res, fmt.Errorf("resolve %s: %w", n.Path, err)
		}
		if err := os.MkdirAll(filepath.Dir(n.Path), 0o755); err != nil {
			return res, err
		}
		if err := pkglock.WriteFile(l); err != nil {
			return res, err
		}
		w := LockWrite{Path: n.Path, Created: n.Lock == nil, Changes: pkglock.Diff(n.Lock, l)}
		res.Resolved = append(res.Resolved, w)
		r.locks[lockKey(n.Inputs.Kind, n.Inputs.Name)] = l
		req.Log.Info("lock: written", "lock", n.Path, "changes", pkglock.Summary(w.Changes), "took", time.Since(start).Round(time.Second))
	}
	return res, nil
}

// PreviewSource is where an update preview (`release lock --dry-run`, `release plan`)
// reads a suite's index: the snapshot in feeds when given, else the live mirror,
// verified and cached as builds fetch it.
func PreviewSource(feeds, mirror string) debrepo.Source {
	if feeds != "" {
		return debrepo.Snapshot{Dir: feeds}
	}
	return debrepo.Mirror{URL: mirror, Keyring: DefaultKeyring, CacheDir: filepath.Join(DefaultCacheDir, "debs")}
}

// checkLockNames refuses a name that is no lock of the checkout, before any work.
func checkLockNames(tc *manifest.Toolchain, req LockRequest) error {
	images, err := pkglock.TargetImages(tc)
	if err != nil {
		return err
	}
	for _, name := range req.Images {
		if _, ok := images[name]; !ok {
			return fmt.Errorf("--image %s: no target of %s lists that image (images: %v)", name, tc.Path, slices.Sorted(maps.Keys(images)))
		}
		if _, err := os.Stat(filepath.Join(req.Root, ImagesDir, name+".yaml")); err != nil {
			return fmt.Errorf("--image %s: %w", name, err)
		}
	}
	for _, name := range req.Builders {
		if _, ok := tc.Builders[name]; !ok && name != pkglock.SeedName {
			return fmt.Errorf("--builder %s: %s has no builders.%s (builders: %v, and %s)", name, tc.Path, name, slices.Sorted(maps.Keys(tc.Builders)), pkglock.SeedName)
		}
		if name != pkglock.SeedName && tc.Builders[name].Digest != "" {
			return fmt.Errorf("--builder %s: builders.%s is a prebuilt image pinned by digest: there is nothing of ours to lock", name, name)
		}
	}
	return nil
}

// selectNeeds are the needs the request names (all when it names none).
func selectNeeds(needs []pkglock.Need, req LockRequest) []pkglock.Need {
	if len(req.Images) == 0 && len(req.Builders) == 0 {
		return needs
	}
	var out []pkglock.Need
	for _, n := range needs {
		if named(n, req) {
			out = append(out, n)
		}
	}
	return out
}

func named(n pkglock.Need, req LockRequest) bool {
	if n.Inputs.Kind == pkglock.KindImage {
		return slices.Contains(req.Images, n.Inputs.Name)
	}
	return slices.Contains(req.Builders, n.Inputs.Name)
}

func lockKey(k pkglock.Kind, name string) string { return string(k) + "/" + name }

// lockResolver resolves locks in one engine session; locks holds the current lock of
// each kind/name, updated as each is resolved, so an image is resolved in the builder
// of the builder lock just written.
type lockResolver struct {
	p     *Pipeline
	repo  *Repo
	tc    *manifest.Toolchain
	host  arch.Arch
	locks map[string]*pkglock.Lock
}

// plan is the needs to resolve, in dependency order (Needs' order): those the request
// selects that are not current or are to be updated, and what those are resolved in
// when it is not current: a builder needs the seed, an image the seed and the rootfs
// builder.
func (r *lockResolver) plan(needs []pkglock.Need, req LockRequest) []pkglock.Need {
	want := map[string]bool{}
	anImage := false
	for _, n := range selectNeeds(needs, req) {
		if n.Err != nil || req.Update {
			want[lockKey(n.Inputs.Kind, n.Inputs.Name)] = true
			anImage = anImage || n.Inputs.Kind == pkglock.KindImage
		}
	}
	current := func(k pkglock.Kind, name string) bool { _, ok := r.locks[lockKey(k, name)]; return ok }
	if anImage && !current(pkglock.KindBuilder, "rootfs") {
		want[lockKey(pkglock.KindBuilder, "rootfs")] = true
	}
	if len(want) > 0 && !current(pkglock.KindSeed, pkglock.SeedName) {
		want[lockKey(pkglock.KindSeed, pkglock.SeedName)] = true
	}
	var out []pkglock.Need
	for _, n := range needs {
		if want[lockKey(n.Inputs.Kind, n.Inputs.Name)] {
			out = append(out, n)
		}
	}
	return out
}

// resolve resolves one lock, every section of its inputs.
func (r *lockResolver) resolve(ctx context.Context, n pkglock.Need) (*pkglock.Lock, error) {
	in := n.Inputs
	l := &pkglock.Lock{Path: n.Path, Kind: in.Kind, Name: in.Name, Suite: in.Suite, Mirror: in.Mirror,
		Variant: in.Variant, Include: pkglock.Normalize(in.Include)}
	for _, debArch := range in.Arches {
		a, err := archOfDebian(debArch)
		if err != nil {
			return nil, err
		}
		var installed []pkglock.Installed
		switch in.Kind {
		case pkglock.KindSeed:
			installed, err = r.seedPackages(ctx, in, a)
		case pkglock.KindBuilder:
			installed, err = r.builderPackages(ctx, in, a)
		default:
			installed, err = r.imagePackages(ctx, in, a)
		}
		if err != nil {
			return nil, fmt.Errorf("arch %s: %w", a.Name, err)
		}
		// The index is fetched after the installation: a package the mirror moved in
		// between is caught by FromInstalled, which asks for another run.
		suite, err := r.mirror(in.Mirror).Suite(ctx, in.Suite, debArch)
		if err != nil {
			return nil, err
		}
		sec, err := pkglock.FromInstalled(suite, installed)
		if err != nil {
			return nil, err
		}
		l.Put(sec)
	}
	return l, l.Check(in)
}

func (r *lockResolver) mirror(url string) debrepo.Mirror {
	return debrepo.Mirror{URL: url, Keyring: r.p.Keyring, CacheDir: r.p.dir("debs")}
}

// seedPackages are the seed's packages for a: resolved in Go from the signed index,
// as the seed is built (seed.Resolve).
func (r *lockResolver) seedPackages(ctx context.Context, in pkglock.Inputs, a arch.Arch) ([]pkglock.Installed, error) {
	_, pkgs, err := seed.Resolve(ctx, seed.Options{Mirror: in.Mirror, Suite: in.Suite, Arch: a.DebianArch, Packages: in.Include,
		Keyring: r.p.Keyring, CacheDir: r.p.dir("debs"), Log: r.p.Log})
	if err != nil {
		return nil, err
	}
	out := make([]pkglock.Installed, len(pkgs))
	for i, pk := range pkgs {
		out[i] = pkglock.Installed{Name: pk.Name, Version: pk.Version, Arch: pk.Architecture}
	}
	return out, nil
}

// builderPackages runs the builder's mmdebstrap against the live mirror in the seed
// (of the current seed lock) and reads what it installed.
func (r *lockResolver) builderPackages(ctx context.Context, in pkglock.Inputs, a arch.Arch) ([]pkglock.Installed, error) {
	spec, err := BuilderFromManifest(r.tc, in.Name, a)
	if err != nil {
		return nil, err
	}
	spec.Seed = r.locks[lockKey(pkglock.KindSeed, pkglock.SeedName)]
	if spec.Seed == nil {
		return nil, errors.New("no current seed lock to resolve the builder in")
	}
	seedCtr, err := r.p.seedContainer(ctx, spec)
	if err != nil {
		return nil, err
	}
	tmp, err := r.p.mmdebstrapInSeed(ctx, seedCtr, spec, "deb "+in.Mirror+" "+in.Suite+" main")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	return installedFromTar(tmp)
}

// imagePackages runs the image's mmdebstrap against the live mirror in the rootfs
// builder of the current locks and reads what it installed.
func (r *lockResolver) imagePackages(ctx context.Context, in pkglock.Inputs, a arch.Arch) ([]pkglock.Installed, error) {
	d, err := r.p.loadImage(ctx, r.repo, in.Name)
	if err != nil {
		return nil, err
	}
	defer d.cleanup()
	bspec, err := BuilderFromManifest(r.tc, "rootfs", r.host)
	if err != nil {
		return nil, err
	}
	if bspec.Digest == "" {
		bspec.Seed = r.locks[lockKey(pkglock.KindSeed, pkglock.SeedName)]
		bspec.Lock = r.locks[lockKey(pkglock.KindBuilder, "rootfs")]
		if bspec.Seed == nil || bspec.Lock == nil {
			return nil, errors.New("no current seed and rootfs builder locks to resolve the image in")
		}
	}
	builder, err := r.p.Builder(ctx, bspec)
	if err != nil {
		return nil, err
	}
	rs := rawSpec{Mirror: in.Mirror, Suite: in.Suite, Variant: in.Variant, Arch: a, Packages: d.Packages,
		Epoch: r.tc.Epoch, Builder: bspec.Key()}
	raw, temporary, err := r.p.rawRootfs(ctx, builder, r.host, rs, d, "", nil)
	if err != nil {
		return nil, err
	}
	if temporary {
		defer os.Remove(raw)
	}
	return installedFromTar(raw)
}

// archOfDebian is the architecture dpkg calls name.
func archOfDebian(name string) (arch.Arch, error) {
	for _, a := range arch.All() {
		if a.DebianArch == name {
			return a, nil
		}
	}
	return arch.Arch{}, fmt.Errorf("no architecture has the Debian name %q", name)
}
