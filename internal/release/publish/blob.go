package publish

import (
	"bytes"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileBlob is a release file as a v1.Layer: uploaded byte for byte (no tar,
// no compression) straight from disk, so a multi-GiB rootfs image is never
// held in memory. The digest is the one SHA256SUMS states; if the file
// changed since, the registry rejects the upload (digest mismatch).
type fileBlob struct {
	path   string
	digest v1.Hash
	size   int64
	mt     types.MediaType
}

var _ v1.Layer = (*fileBlob)(nil)

func (b *fileBlob) Digest() (v1.Hash, error) { return b.digest, nil }

// DiffID equals the digest: the blob is stored uncompressed.
func (b *fileBlob) DiffID() (v1.Hash, error)             { return b.digest, nil }
func (b *fileBlob) Compressed() (io.ReadCloser, error)   { return os.Open(b.path) }
func (b *fileBlob) Uncompressed() (io.ReadCloser, error) { return os.Open(b.path) }
func (b *fileBlob) Size() (int64, error)                 { return b.size, nil }
func (b *fileBlob) MediaType() (types.MediaType, error)  { return b.mt, nil }

// memBlob is a small blob held in memory (the empty config).
type memBlob struct {
	data   []byte
	digest v1.Hash
	mt     types.MediaType
}

func newMemBlob(data []byte, mt types.MediaType) *memBlob {
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	return &memBlob{data: data, digest: h, mt: mt}
}

func (b *memBlob) Digest() (v1.Hash, error) { return b.digest, nil }
func (b *memBlob) DiffID() (v1.Hash, error) { return b.digest, nil }
func (b *memBlob) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}
func (b *memBlob) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}
func (b *memBlob) Size() (int64, error)                { return int64(len(b.data)), nil }
func (b *memBlob) MediaType() (types.MediaType, error) { return b.mt, nil }

// rawManifest is a manifest or index to PUT as is.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
