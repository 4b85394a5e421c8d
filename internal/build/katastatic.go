package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/katastatic"
	"github.com/guestforge/guestforge/internal/safepath"
)

// KataStaticName is the tarball KataStatic returns, in the directory's root.
func KataStaticName(arch string) string { return "kata-static-" + arch + ".tar" }

// KataStatic turns a built matrix directory (All's) into a directory holding
// KataStaticName(o.Arch): the same bytes `release export --layout kata-static` writes
// from the exported tree, because both run katastatic.Write over the same files.
// The tree is exported to this process's filesystem to be read; o must be filled
// (katastatic.Options.Fill).
func (p *Pipeline) KataStatic(ctx context.Context, built *dagger.Directory, o katastatic.Options) (*dagger.Directory, error) {
	scratch, err := os.MkdirTemp("", "guestforge-kata-static-")
	if err != nil {
		return nil, err
	}
	// Left for the engine to read back below; the process ends with the call.
	tree, out := filepath.Join(scratch, "dist"), filepath.Join(scratch, "out")
	if _, err := built.Export(ctx, tree); err != nil {
		return nil, fmt.Errorf("kata-static: export the build: %w", err)
	}
	t, err := dist.OpenSkipping(tree, "logs")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, err
	}
	names := 0
	err = safepath.WriteFile(filepath.Join(out, KataStaticName(o.Arch)), 0o644, func(w io.Writer) error {
		n, err := katastatic.Write(w, t, o)
		names = len(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.Log.Info("kata-static: written", "arch", o.Arch, "entries", names)
	return p.Client.Host().Directory(out).Sync(ctx)
}
