//go:build engine || boot

package build

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/build/session"
)

// Helpers of the image pipeline tests, shared by the engine and boot tiers.

// imagesRoot is the checkout the image tests build from.
const imagesRoot = "../.."

// imageSources are the parts of a checkout the image pipelines read from the engine:
// image definitions and overlays, and the boot probe's sources.
var imageSources = []string{"images/**", "go.mod", "go.sum", "cmd/bootprobe/**", "internal/arch/**", "patches/**"}

func imagePipeline(t *testing.T, timeout time.Duration) (*Pipeline, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	c, err := session.Connect(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return New(c, imageLog{t}), ctx
}

// imageLog sends pipeline logs to the test log.
type imageLog struct{ t *testing.T }

func (l imageLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// imageRepo opens the checkout at root with the sources the image pipelines need in
// the engine.
func imageRepo(t *testing.T, p *Pipeline, root string) *Repo {
	t.Helper()
	repo, err := p.LocalRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	repo.Dir = p.Client.Host().Directory(abs, dagger.HostDirectoryOpts{Include: imageSources})
	return repo
}

// exportDir exports d to a temporary directory.
func exportDir(t *testing.T, ctx context.Context, d *dagger.Directory) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := d.Export(ctx, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
