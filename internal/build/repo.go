package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/kconfig"
	"github.com/guestforge/guestforge/internal/manifest"
)

// Repo is what pipelines read from a guestforge checkout: the manifest and the kernel
// config tree, parsed in Go, and the checkout itself in the engine (for patches/).
type Repo struct {
	Toolchain *manifest.Toolchain
	Configs   *kconfig.Tree
	Dir       *dagger.Directory
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
var RepoSources = []string{PatchesDir + "/**", ImagesDir + "/**", "go.mod", "go.sum", "cmd/bootprobe/**", "internal/arch/**"}

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
	return &Repo{Toolchain: tc, Configs: tree, Dir: dir}, nil
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
	return &Repo{Toolchain: tc, Configs: tree, Dir: dir}, nil
}
