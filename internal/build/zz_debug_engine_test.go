//go:build engine

package build

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZZDebugExt4(t *testing.T) {
	p, ctx := imagePipeline(t, 30*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	r, err := p.Rootfs(ctx, repo, RootfsSpec{Arch: x86, Image: "default"})
	if err != nil {
		t.Fatal(err)
	}
	out := "/var/cache/guestforge/h-debug"
	os.MkdirAll(out, 0o755)
	for _, n := range []string{"a", "b"} {
		rr := *r
		rr.nonce = n + time.Now().String()
		d, err := p.DiskImage(ctx, repo, &rr, DiskSpec{FS: FSExt4})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(out, n)
		os.RemoveAll(dir)
		if _, err := d.Dir.Export(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
}
