package build

import (
	"context"
	"fmt"
	"os"
	"path"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/initrd"
)

// InitrdSpec says how a rootfs is packed into an initrd.
type InitrdSpec struct {
	// Compression defaults to zstd: every kernel config of ours reads it (RD_ZSTD),
	// and it packs a Debian rootfs 2x faster and 15% smaller than gzip here.
	Compression initrd.Compression
}

// Artifact is a file a pipeline made: in the engine under Dir (at Files, the layout of
// dist/<version>/), and on the client at Path when the client made it.
type Artifact struct {
	Dir    *dagger.Directory
	Files  []string
	Path   string
	SHA256 string
}

// Initrd packs r with internal/initrd, in this process: the same packer (sorted newc,
// mtime = epoch, owners 0 unless the image says otherwise, init wired and validated for
// the image's init mode and arch) that `release initrd` runs, no find | cpio. The
// result is <arch>/initrd-<image>.img.
func (p *Pipeline) Initrd(ctx context.Context, r *Rootfs, spec InitrdSpec) (*Artifact, error) {
	comp := spec.Compression
	if comp == "" {
		comp = initrd.Zstd
	}
	owners, err := initrd.OwnersFromImage(r.Image.Owners)
	if err != nil {
		return nil, fmt.Errorf("%s: owners: %w", r.ImageFile, err)
	}
	if err := os.MkdirAll(p.dir("work"), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(p.dir("work"), ".initrd-*.img")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	start := time.Now()
	res, err := initrd.Build(initrd.Spec{
		Tar: r.Tar, Init: r.Init, Arch: r.Arch, Compression: comp, Epoch: r.Epoch, Owners: owners,
		// The budget is checked on the rootfs; the initrd may hold what the rootfs may.
		Limits: initrd.Limits{MaxTotalBytes: max(r.Stats.ContentBytes+1, initrd.DefaultLimits.MaxTotalBytes)},
	}, tmp.Name())
	if err != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("image %s: pack the %s initrd: %w", r.Image.Name, r.Arch.Name, err)
	}
	if err := ctx.Err(); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	out, err := contentAddress(tmp.Name(), "initrd-"+r.Image.Name+"-"+r.Arch.Name+".img")
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	for _, rw := range res.Rewrites {
		p.Log.Warn("initrd: symlink rewritten", "image", r.Image.Name, "link", rw)
	}
	p.Log.Info("initrd: packed", "image", r.Image.Name, "arch", r.Arch.Name, "init", r.Init, "compression", comp,
		"entries", res.Entries, "bytes", res.Bytes, "sha256", res.SHA256[:16], "took", time.Since(start).Round(time.Millisecond))
	name := path.Join(r.Arch.Name, artifact.InitrdName(r.Image.Name))
	dir := p.Client.Directory().WithFile(name, p.Client.Host().File(out)).WithTimestamps(int(r.Epoch))
	return &Artifact{Dir: dir, Files: []string{name}, Path: out, SHA256: res.SHA256}, nil
}
