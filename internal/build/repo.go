package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// Repo is what pipelines read from a guestforge checkout: the manifest and the kernel
// config tree, parsed in Go, and the checkout itself in the engine (for patches/).
type Repo struct {
	Toolchain *manifest.Toolchain
	Configs   *kconfig.Tree
	Dir       *dagger.Directory
	// read returns a file of the checkout by its slash-separated relative path, at
	// most limit bytes: from the client's disk or through the engine.
	read func(ctx context.Context, rel string, limit int64) ([]byte, error)
}

// Lock loads the package lock at rel (builders/rootfs.lock, images/default.lock) from
// the checkout. A missing one is pkglock.ErrNoLock.
func (r *Repo) Lock(ctx context.Context, rel string) (*pkglock.Lock, error) {
	if r.read == nil {
		return nil, fmt.Errorf("%w: this checkout was opened without its files", pkglock.ErrNoLock)
	}
	data, err := r.read(ctx, rel, pkglock.MaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist in the checkout", pkglock.ErrNoLock, rel)
	}
	if err != nil {
		return nil, err
	}
	return pkglock.Parse(rel, data)
}

// Paths of a checkout that pipelines read.
const (
	ToolchainFile = "toolchain.yaml"
	ConfigsDir    = kconfig.Dir
	PatchesDir    = "patches"
)

// RepoSources are the parts of a checkout the pipelines read in the engine: kernel
// patches, image definitions with their overlays, and the boot probe's sources (the
// test images' agent). Nothing else is uploaded, so an edit elsewhere in the tree
// does not reach any cache key.
var RepoSources = []string{PatchesDir + "/**", ImagesDir + "/**", pkglock.BuildersDir + "/**", "go.mod", "go.sum", "cmd/bootprobe/**", "internal/arch/**"}

// LocalRepo opens the checkout at root on the client's filesystem.
func (p *Pipeline) LocalRepo(root string) (*Repo, error) {
	tc, err := manifest.Load(filepath.Join(root, ToolchainFile))
	if err != nil {
		return nil, err
	}
	tree, err := kconfig.LoadFS(os.DirFS(filepath.Join(root, ConfigsDir)), ConfigsDir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	dir := p.Client.Host().Directory(abs, dagger.HostDirectoryOpts{Include: RepoSources})
	read := func(_ context.Context, rel string, limit int64) ([]byte, error) {
		return boundedio.ReadFileLimit(filepath.Join(abs, filepath.FromSlash(rel)), limit, "a file of the checkout")
	}
	return &Repo{Toolchain: tc, Configs: tree, Dir: dir, read: read}, nil
}

// RepoFromDirectory opens a checkout held by the engine (a Dagger module's source
// argument): the manifest is read through the session and kernel-configs/ exported to a
// scratch directory so the pure kconfig package can parse it.
func (p *Pipeline) RepoFromDirectory(ctx context.Context, dir *dagger.Directory) (*Repo, error) {
	data, err := dir.File(ToolchainFile).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s from the source directory: %w", ToolchainFile, err)
	}
	tc, err := manifest.Parse(ToolchainFile, []byte(data))
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "guestforge-kconfig-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	if _, err := dir.Directory(ConfigsDir).Export(ctx, scratch); err != nil {
		return nil, fmt.Errorf("read %s/ from the source directory: %w", ConfigsDir, err)
	}
	tree, err := kconfig.LoadFS(os.DirFS(scratch), ConfigsDir)
	if err != nil {
		return nil, err
	}
	return &Repo{Toolchain: tc, Configs: tree, Dir: dir, read: engineReader(dir)}, nil
}

// engineReader reads files of a checkout the engine holds, refusing one over its limit
// before its bytes cross the session.
func engineReader(dir *dagger.Directory) func(ctx context.Context, rel string, limit int64) ([]byte, error) {
	return func(ctx context.Context, rel string, limit int64) ([]byte, error) {
		entries, err := dir.Glob(ctx, rel)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, fs.ErrNotExist
		}
		f := dir.File(rel)
		size, err := f.Size(ctx)
		if err != nil {
			return nil, err
		}
		if int64(size) > limit {
			return nil, &boundedio.TooLargeError{Name: rel, What: "a file of the checkout", Size: int64(size), Limit: limit}
		}
		data, err := f.Contents(ctx)
		return []byte(data), err
	}
}
