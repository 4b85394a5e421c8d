package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/rootfs"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// RootfsSpec is one image's root filesystem for one architecture.
type RootfsSpec struct {
	Arch arch.Arch
	// Image is the name of images/<name>.yaml.
	Image string
	// Nonce, when set, rebuilds everything (mmdebstrap included) without any cache: the
	// cache-disabled build reproducibility is proven with. It changes no output byte.
	Nonce string
}

// Rootfs is a finished root filesystem: the image's packages, without per-build
// state, with the agent and overlay, as a normalised tarball. The initrd and the disk
// image of the image are both made from it.
type Rootfs struct {
	Image *manifest.Image
	// ImageFile is the definition's path in the checkout.
	ImageFile string
	Arch      arch.Arch
	Init      initrd.InitMode
	Epoch     int64
	// Tar is the tarball on the client, File the same in the engine; SHA256 its digest.
	Tar    string
	File   *dagger.File
	SHA256 string
	Stats  RootfsStats
	nonce  string
}

// Rootfs builds the root filesystem of spec.Image for spec.Arch: mmdebstrap in the
// rootfs builder (foreign arches through qemu-user-static), cached by the content key
// of its inputs; then, on the client, the per-build state and the image's delete:
// paths removed, the overlay and the agent installed, the init wired and the result
// normalised (rootfs.Finish). A missing agent, an unknown package or a rootfs over its
// budget fail here, before anything is returned to export.
func (p *Pipeline) Rootfs(ctx context.Context, repo *Repo, spec RootfsSpec) (*Rootfs, error) {
	p.pruneWork()
	tc := repo.Toolchain
	d, err := p.loadImage(ctx, repo, spec.Image)
	if err != nil {
		return nil, err
	}
	defer d.cleanup()
	mode, err := initrd.ParseInitMode(d.Init)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	// The agent first: a missing one must not cost an mmdebstrap run.
	agent, err := p.agentBinary(ctx, repo, d, spec.Arch)
	if err != nil {
		return nil, err
	}
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	bspec, err := BuilderFromRepo(ctx, repo, "rootfs", host)
	if err != nil {
		return nil, err
	}
	rs, err := imageRawSpec(ctx, repo, d, spec.Arch, bspec)
	if err != nil {
		return nil, err
	}
	// Every locked .deb of the image is fetched and verified before any builder is
	// made: a lock the mirror no longer serves fails here, naming the package.
	repoDir, err := p.lockRepo(ctx, rs.Lock, rs.Section)
	if err != nil {
		return nil, err
	}
	builder, err := p.Builder(ctx, bspec)
	if err != nil {
		return nil, err
	}
	builder = p.Perturb.Apply(builder)
	raw, temporary, err := p.rawRootfs(ctx, builder, host, rs, d, spec.Nonce, repoDir)
	if err != nil {
		return nil, err
	}
	if temporary {
		defer os.Remove(raw)
	}

	start := time.Now()
	r := &Rootfs{Image: d.Image, ImageFile: d.File, Arch: spec.Arch, Init: mode, Epoch: tc.Epoch, nonce: spec.Nonce}
	r.Tar, r.Stats, err = finishFile(raw, p.dir("work"), rootfs.Spec{
		Image: d.Name, ImageFile: d.File, Arch: spec.Arch, Init: mode, Epoch: tc.Epoch,
		Delete: d.Delete, Overlay: d.FilesDir, Agent: agent, Budget: d.Budget, BudgetBytes: d.BudgetBytes,
	}, fmt.Sprintf("rootfs-%s-%s.tar", d.Name, spec.Arch.Name))
	if err != nil {
		return nil, err
	}
	if r.SHA256, _, err = sha256sum.File(r.Tar); err != nil {
		return nil, err
	}
	p.Log.Info("rootfs: finished", "image", d.Name, "arch", spec.Arch.Name, "entries", r.Stats.Entries,
		"content", mib(r.Stats.ContentBytes), "budget", d.Budget, "removed", len(r.Stats.Removed),
		"sha256", r.SHA256[:16], "took", time.Since(start).Round(time.Millisecond))
	for _, rm := range r.Stats.Removed {
		p.Log.Debug("rootfs: removed", "image", d.Name, "path", rm)
	}
	r.File = p.Client.Host().File(r.Tar)
	return r, nil
}

// imageRawSpec is the raw tarball of image d for arch a, from images/<name>.lock, which
// must answer the definition.
func imageRawSpec(ctx context.Context, repo *Repo, d *imageDef, a arch.Arch, builder BuilderSpec) (rawSpec, error) {
	tc := repo.Toolchain
	in := pkglock.ImageInputs(tc, d.Image, []string{a.DebianArch})
	rs := rawSpec{Mirror: in.Mirror, Suite: in.Suite, Variant: in.Variant, Arch: a, Packages: d.Packages, Epoch: tc.Epoch, Builder: builder.Key()}
	var err error
	if rs.Lock, err = checkedLock(ctx, repo, ImagesDir+"/"+d.Name+".lock", in); err != nil {
		return rs, err
	}
	rs.Section, err = section(rs.Lock, a.DebianArch)
	return rs, err
}

// finishFile runs rootfs.Finish from the raw tarball at raw into a content-addressed
// file of dir named after name.
func finishFile(raw, dir string, spec rootfs.Spec, name string) (string, RootfsStats, error) {
	in, err := os.Open(raw)
	if err != nil {
		return "", RootfsStats{}, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", RootfsStats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", RootfsStats{}, err
	}
	out, err := os.CreateTemp(dir, ".rootfs-*.tar")
	if err != nil {
		return "", RootfsStats{}, err
	}
	stats, err := rootfs.Finish(in, st.Size(), out, spec)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", stats, err
	}
	if err := os.Chmod(out.Name(), 0o644); err != nil {
		return "", stats, err
	}
	final, err := contentAddress(out.Name(), name)
	if err != nil {
		os.Remove(out.Name())
		return "", stats, err
	}
	return final, stats, nil
}

// Dir returns the finished tarball as <arch>/rootfs-<image>.tar, for `dagger call
// rootfs` and inspection.
func (r *Rootfs) Dir(c *dagger.Client) *dagger.Directory {
	return c.Directory().WithFile(filepath.ToSlash(filepath.Join(r.Arch.Name, "rootfs-"+r.Image.Name+".tar")), r.File).
		WithTimestamps(int(r.Epoch))
}
