// Package ociarchive turns a root filesystem tarball (as mmdebstrap writes it) into a
// single-layer OCI image archive: an OCI image layout, tarred, which Dagger's
// Container.Import loads without any registry.
//
// The archive is a pure function of its inputs: the layer is gzip-compressed by Go's
// deterministic encoder, the config's creation time is the caller's epoch, and the
// layout's own tar entries have fixed order, owners, modes and mtimes. The same rootfs
// therefore always yields the same manifest digest, which is what lets pipelines cache on
// it and lets the image be pinned by digest where a registry exists.
package ociarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image describes the single-layer image to write.
type Image struct {
	// Rootfs is the path of an uncompressed tarball holding the root filesystem.
	Rootfs string
	// OS and Architecture are the OCI platform (for example linux, amd64).
	OS, Architecture string
	// Created is recorded as the config's creation time and as the mtime of every
	// archive entry; pass the build epoch, never the wall clock.
	Created time.Time
	// Env and Cmd become the image config's defaults.
	Env, Cmd []string
}

// WriteFile writes the archive of img to path atomically (a temporary file in the same
// directory, renamed into place) and returns the image manifest's digest.
func WriteFile(path string, img Image) (v1.Hash, error) {
	dir := filepath.Dir(path)
	layerTmp, err := os.CreateTemp(dir, ".layer-*.tar.gz")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("create temporary layer next to %s: %w", path, err)
	}
	defer os.Remove(layerTmp.Name())
	defer layerTmp.Close()

	out, err := os.CreateTemp(dir, ".oci-*.tar")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("create temporary archive next to %s: %w", path, err)
	}
	defer os.Remove(out.Name())
	defer out.Close()

	digest, err := Write(out, layerTmp, img)
	if err != nil {
		return v1.Hash{}, err
	}
	// Images are inputs anyone on the machine may build with; CreateTemp made it 0600.
	if err := out.Chmod(0o644); err != nil {
		return v1.Hash{}, fmt.Errorf("write %s: %w", out.Name(), err)
	}
	if err := out.Close(); err != nil {
		return v1.Hash{}, fmt.Errorf("write %s: %w", out.Name(), err)
	}
	if err := os.Rename(out.Name(), path); err != nil {
		return v1.Hash{}, fmt.Errorf("move archive into place at %s: %w", path, err)
	}
	return digest, nil
}

// Write streams the archive of img to w. scratch holds the compressed layer while the
// archive is assembled (a tar entry needs its size up front); it must be empty, readable
// and seekable. The returned hash is the image manifest's digest.
func Write(w io.Writer, scratch io.ReadWriteSeeker, img Image) (v1.Hash, error) {
	if img.OS == "" || img.Architecture == "" {
		return v1.Hash{}, errors.New("ociarchive: OS and Architecture are required (for example linux/amd64)")
	}
	layer, err := compressLayer(scratch, img.Rootfs)
	if err != nil {
		return v1.Hash{}, err
	}

	cfg := v1.ConfigFile{
		Architecture: img.Architecture,
		OS:           img.OS,
		Created:      v1.Time{Time: img.Created.UTC()},
		Config:       v1.Config{Env: img.Env, Cmd: img.Cmd},
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{layer.diffID}},
		History:      []v1.History{{Created: v1.Time{Time: img.Created.UTC()}, CreatedBy: "guestforge ociarchive: rootfs " + filepath.Base(img.Rootfs)}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("encode image config: %w", err)
	}
	manifest := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        descriptor(types.OCIConfigJSON, cfgJSON),
		Layers:        []v1.Descriptor{{MediaType: types.OCILayer, Size: layer.size, Digest: layer.digest}},
	}
	manifestJSON, err := json.Marshal(manifest)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("encode image manifest: %w", err)
	}
	manifestDesc := descriptor(types.OCIManifestSchema1, manifestJSON)
	manifestDesc.Platform = &v1.Platform{OS: img.OS, Architecture: img.Architecture}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{manifestDesc}}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("encode image index: %w", err)
	}

	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return v1.Hash{}, fmt.Errorf("rewind compressed layer: %w", err)
	}
	// Entries in lexical order of their names, as a sorted directory walk would give.
	entries := []entry{
		{name: "blobs/", dir: true},
		{name: "blobs/sha256/", dir: true},
	}
	blobs := map[string]entry{
		blobName(manifest.Config.Digest): {data: cfgJSON},
		blobName(manifestDesc.Digest):    {data: manifestJSON},
		blobName(layer.digest):           {reader: scratch, size: layer.size},
	}
	for _, name := range slices.Sorted(maps.Keys(blobs)) {
		e := blobs[name]
		e.name = name
		entries = append(entries, e)
	}
	entries = append(entries,
		entry{name: "index.json", data: indexJSON},
		entry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	)
	if err := writeTar(w, entries, img.Created); err != nil {
		return v1.Hash{}, err
	}
	return manifestDesc.Digest, nil
}

type compressed struct {
	digest, diffID v1.Hash
	size           int64
}

// compressLayer gzips the rootfs into scratch, hashing the input (diff ID) and the output
// (layer digest) in the same pass.
func compressLayer(scratch io.Writer, rootfs string) (compressed, error) {
	in, err := os.Open(rootfs)
	if err != nil {
		return compressed{}, fmt.Errorf("open rootfs tarball: %w", err)
	}
	defer in.Close()
	diffHash, layerHash := sha256.New(), sha256.New()
	counter := &countWriter{w: io.MultiWriter(scratch, layerHash)}
	// BestSpeed: the layer is read back by the engine right away, and a rootfs of a
	// few hundred MB compresses in seconds instead of a minute.
	zw, err := gzip.NewWriterLevel(counter, gzip.BestSpeed)
	if err != nil {
		return compressed{}, fmt.Errorf("gzip writer: %w", err)
	}
	if _, err := io.Copy(zw, io.TeeReader(in, diffHash)); err != nil {
		return compressed{}, fmt.Errorf("compress %s: %w", rootfs, err)
	}
	if err := zw.Close(); err != nil {
		return compressed{}, fmt.Errorf("compress %s: %w", rootfs, err)
	}
	return compressed{digest: sum(layerHash), diffID: sum(diffHash), size: counter.n}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

func descriptor(mt types.MediaType, data []byte) v1.Descriptor {
	h := sha256.Sum256(data)
	return v1.Descriptor{MediaType: mt, Size: int64(len(data)), Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h[:])}}
}

func blobName(h v1.Hash) string { return "blobs/sha256/" + h.Hex }

type entry struct {
	name   string
	dir    bool
	data   []byte
	reader io.Reader
	size   int64
}

func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatUSTAR}
		switch {
		case e.dir:
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		case e.reader != nil:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, e.size
		default:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(e.data))
			e.reader = bytes.NewReader(e.data)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write archive entry %s: %w", e.name, err)
		}
		if e.dir {
			continue
		}
		if n, err := io.Copy(tw, e.reader); err != nil {
			return fmt.Errorf("write archive entry %s: %w", e.name, err)
		} else if n != hdr.Size {
			return fmt.Errorf("write archive entry %s: wrote %d of %d bytes", e.name, n, hdr.Size)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return nil
}
