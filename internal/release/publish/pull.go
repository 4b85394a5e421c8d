package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
)

// Pulled says what a pull fetched.
type Pulled struct {
	Tree *dist.Tree
	// Digests are the manifests to check signatures of: the index (when the
	// reference named one), every arch manifest, resolved by digest, and
	// the artifacts that attach reference values to them.
	Digests []name.Digest
}

// attachedReferenceValues checks that every reference-values layer of the
// arch manifest m (img) is attached to it as publish attached it: the
// artifact rebuilt from m is in the repository by its digest. It returns
// those digests, whose signatures verify checks with the rest.
func attachedReferenceValues(img v1.Image, m *v1.Manifest, repo name.Repository, ropts []remote.Option) ([]name.Digest, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	rs, err := referrersOf(*m, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: size, Digest: h})
	if err != nil {
		return nil, err
	}
	var out []name.Digest
	for _, r := range rs {
		d := repo.Digest(r.digest.String())
		if _, err := remote.Head(d, ropts...); err != nil {
			return nil, fmt.Errorf("the reference values of %s are not attached to their manifest as published (no artifact %s: %w): publish the release again",
				r.target, r.digest, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Pull fetches the release ref names (an index: every arch; a manifest:
// that arch only, Tree.Partial set) into destDir/<version>/, which must not
// exist yet, and reconstructs the dist tree from the layer titles. Every
// blob is checked against its digest as it is written. ref is resolved to a
// digest once, so a tag moving during the pull cannot mix two releases.
func Pull(ctx context.Context, ref name.Reference, destDir string, o Options) (*Pulled, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := o.Backoff
	if backoff.Steps == 0 {
		backoff = defaultBackoff
	}
	ropts := append([]remote.Option{remote.WithContext(ctx), remote.WithRetryBackoff(backoff),
		remote.WithRetryStatusCodes(retryCodes...)}, o.Remote...)
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	repo := ref.Context()
	top := repo.Digest(desc.Digest.String())
	res := &Pulled{}
	var manifests []name.Digest
	partial := false
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", ref, err)
		}
		res.Digests = append(res.Digests, top)
		for _, m := range im.Manifests {
			if m.ArtifactType != ArtifactType {
				return nil, fmt.Errorf("pull %s: index entry %s has artifactType %q, not a guestforge release (%s)", ref, m.Digest, m.ArtifactType, ArtifactType)
			}
			manifests = append(manifests, repo.Digest(m.Digest.String()))
		}
	case desc.MediaType.IsImage():
		manifests = []name.Digest{top}
		partial = true
	default:
		return nil, fmt.Errorf("pull %s: media type %s is neither an index nor a manifest", ref, desc.MediaType)
	}
	if len(manifests) == 0 {
		return nil, fmt.Errorf("pull %s: the index lists no manifests", ref)
	}

	var version, root string
	written := map[string]v1.Hash{}
	for _, d := range manifests {
		img, err := remote.Image(d, ropts...)
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", d, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", d, err)
		}
		if m.ArtifactType != ArtifactType {
			return nil, fmt.Errorf("pull %s: artifactType %q, not a guestforge release (%s)", d, m.ArtifactType, ArtifactType)
		}
		a, err := arch.Parse(m.Annotations[AnnotationArch])
		if err != nil {
			return nil, fmt.Errorf("pull %s: annotation %s: %w", d, AnnotationArch, err)
		}
		v := m.Annotations[AnnotationVersion]
		if version == "" {
			if err := checkVersion(v); err != nil {
				return nil, fmt.Errorf("pull %s: %w", d, err)
			}
			version = v
			root = filepath.Join(destDir, version)
			if err := os.Mkdir(root, 0o755); err != nil {
				return nil, fmt.Errorf("pull: %w (pull into a fresh directory)", err)
			}
		} else if v != version {
			return nil, fmt.Errorf("pull %s: version %q in a release of version %q", d, v, version)
		}
		res.Digests = append(res.Digests, d)
		attached, err := attachedReferenceValues(img, m, repo, ropts)
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", d, err)
		}
		res.Digests = append(res.Digests, attached...)
		for _, l := range m.Layers {
			title := l.Annotations[AnnotationTitle]
			if err := dist.CheckRel(title); err != nil {
				return nil, fmt.Errorf("pull %s: layer %s: %w", d, l.Digest, err)
			}
			if dir, _, nested := strings.Cut(title, "/"); nested && dir != a.Name {
				return nil, fmt.Errorf("pull %s: the %s manifest carries %s", d, a.Name, title)
			}
			if prev, ok := written[title]; ok {
				if prev != l.Digest {
					return nil, fmt.Errorf("pull %s: %s differs between arch manifests (%s vs %s)", d, title, prev, l.Digest)
				}
				continue
			}
			log.Info("download", "file", title, "bytes", l.Size)
			if err := fetchBlob(img, l, filepath.Join(root, filepath.FromSlash(title))); err != nil {
				return nil, fmt.Errorf("pull %s: %s: %w", d, title, err)
			}
			written[title] = l.Digest
		}
	}
	t, err := dist.Open(root)
	if err != nil {
		return nil, err
	}
	t.Partial = partial
	res.Tree = t
	return res, nil
}

// MaxBlobBytes bounds one pulled file: the largest release artifact, a
// rootfs image, is well under it.
const MaxBlobBytes = 32 * boundedio.GiB

func fetchBlob(img v1.Image, desc v1.Descriptor, file string) error {
	if desc.Digest.Algorithm != "sha256" {
		return fmt.Errorf("digest algorithm %s is not supported", desc.Digest.Algorithm)
	}
	if desc.Size < 0 || desc.Size > MaxBlobBytes {
		return &boundedio.TooLargeError{Name: "layer " + desc.Digest.String(), What: "a release file", Size: desc.Size, Limit: MaxBlobBytes}
	}
	l, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	// Read one byte past the size the signed manifest states, never more:
	// a registry streaming without end must not fill the disk.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, desc.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	// go-containerregistry checks digests too; this check does not depend on it.
	if got := hex.EncodeToString(h.Sum(nil)); err == nil && (got != desc.Digest.Hex || n != desc.Size) {
		err = fmt.Errorf("downloaded %d bytes with sha256 %s, the manifest says %d bytes %s", n, got, desc.Size, desc.Digest.Hex)
	}
	if err != nil {
		os.Remove(file) // never leave a file that looks like the artifact but is not
	}
	return err
}

// checkVersion keeps the version annotation usable as a directory name.
func checkVersion(v string) error {
	if v == "" || v != path.Base(v) || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return errors.New("the manifest has no usable " + AnnotationVersion + " annotation")
	}
	return nil
}
