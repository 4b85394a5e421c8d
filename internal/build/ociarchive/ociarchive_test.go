package ociarchive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// rootfsTar writes a tiny root filesystem tarball and returns its path and bytes.
func rootfsTar(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct{ name, body string }{{"etc/os-release", "ID=debian\n"}, {"bin/true", "\x7fELF"}}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rootfs.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, buf.Bytes()
}

// untar unpacks an archive into dir so ggcr's layout reader can open it.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, hdr.Name)
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteFileIsAValidDeterministicImage(t *testing.T) {
	dir := t.TempDir()
	rootfs, rootfsBytes := rootfsTar(t, dir)
	img := Image{Rootfs: rootfs, OS: "linux", Architecture: "arm64", Created: time.Unix(1767225600, 0),
		Env: []string{"PATH=/usr/bin:/bin"}, Cmd: []string{"/bin/sh"}}

	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	da, err := WriteFile(a, img)
	if err != nil {
		t.Fatal(err)
	}
	db, err := WriteFile(b, img)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("manifest digest differs between two writes: %s vs %s", da, db)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two archives of the same rootfs differ byte for byte")
	}

	out := filepath.Join(dir, "layout")
	untar(t, a, out)
	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatalf("ggcr cannot read the layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != da {
		t.Fatalf("index lists %+v, want one manifest %s", im.Manifests, da)
	}
	if p := im.Manifests[0].Platform; p == nil || p.Architecture != "arm64" || p.OS != "linux" {
		t.Fatalf("index platform = %+v, want linux/arm64", p)
	}
	image, err := idx.Image(da)
	if err != nil {
		t.Fatal(err)
	}
	// validate re-hashes every blob and checks diff IDs against the layers.
	if err := validate.Image(image); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	cfg, err := image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" || !cfg.Created.Time.Equal(img.Created) || cfg.Config.Cmd[0] != "/bin/sh" {
		t.Fatalf("config = %+v", cfg)
	}
	layers, err := image.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, rootfsBytes) {
		t.Fatal("the layer does not hold the rootfs tarball unchanged")
	}
}

func TestWriteRejectsMissingPlatformAndRootfs(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteFile(filepath.Join(dir, "x.tar"), Image{Rootfs: "/nonexistent", OS: "linux"}); err == nil {
		t.Fatal("want an error for a missing architecture")
	}
	if _, err := WriteFile(filepath.Join(dir, "x.tar"), Image{Rootfs: filepath.Join(dir, "missing.tar"), OS: "linux", Architecture: "amd64"}); err == nil {
		t.Fatal("want an error for a missing rootfs tarball")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); !os.IsNotExist(err) {
		t.Fatal("a failed write left an archive behind")
	}
}
