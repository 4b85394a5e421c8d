package cut

// Local implementations of the build, sign, publish and verify seams, so the
// orchestration (order, state, resume, no-op, drift) is tested on real
// files, real signatures and a real copy-based "registry" without an engine.
// The engine-backed and registry-backed adapters are tested in tier 2.

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// fileBuilder writes the planned artifacts with content derived from the
// target, like a reproducible build would, and counts its runs.
type fileBuilder struct {
	runs int
	// skip leaves out one planned file name, to prove the build check.
	skip string
	// oneVariant, when set, builds one kernel per arch, with this variant's
	// config, for however many variants the plan lists: what `dagger call all`
	// exports with its default test kernel.
	oneVariant string
}

func (b *fileBuilder) Describe(_ context.Context, r *Release) ([]string, error) {
	return []string{fmt.Sprintf("local file builder: %d artifact families", len(r.Plan.Builds))}, nil
}

func (b *fileBuilder) Build(_ context.Context, r *Release, dir string) error {
	b.runs++
	for _, bl := range r.Plan.Builds {
		variant := bl.Variant
		if b.oneVariant != "" {
			variant = b.oneVariant
		}
		cfg := fmt.Sprintf("%x", sha256.Sum256([]byte(bl.Arch+"/"+variant)))[:8]
		for _, name := range bl.Files {
			name = strings.ReplaceAll(name, "<cfg>", cfg)
			if name == b.skip {
				continue
			}
			p := filepath.Join(dir, bl.Arch, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			body := r.Commit + " " + bl.Arch + " " + name + "\n"
			if kind, _, _ := artifact.KindOf(name); kind == artifact.VerityParams {
				// The notes read a measured image's params as Kata would: they must parse.
				sum := fmt.Sprintf("%x", sha256.Sum256([]byte(body)))
				body = "root_hash=" + sum + ",salt=" + sum[:16] + ",data_blocks=1024,data_block_size=4096,hash_block_size=4096\n"
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// edSigner signs each artifact and SHA256SUMS with an ed25519 key, writing
// a small JSON bundle next to the file.
type edSigner struct{ key ed25519.PrivateKey }

type edBundle struct {
	SHA256    string `json:"sha256"`
	Signature []byte `json:"signature"`
}

func (s edSigner) Describe(context.Context, *Release) ([]string, error) {
	return []string{"sign with a local ed25519 key"}, nil
}

func (s edSigner) Sign(_ context.Context, _ *Release, t *dist.Tree) error {
	for _, rel := range append(t.Artifacts(), dist.SumsFile) {
		sum, err := sums.File(t.Path(rel))
		if err != nil {
			return err
		}
		b, _ := json.Marshal(edBundle{SHA256: sum, Signature: ed25519.Sign(s.key, []byte(sum))})
		if err := os.WriteFile(t.Path(rel+dist.BundleSuffix), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dirPublisher copies the tree into registry/<tag>/ through a staging
// directory renamed into place last (the tag moves last), and can fail
// after a number of files to stand for a killed upload.
type dirPublisher struct {
	registry  string
	failAfter int // 0 = never
	runs      int
}

func (p *dirPublisher) Describe(_ context.Context, r *Release) ([]string, error) {
	return []string{"copy to " + filepath.Join(p.registry, r.Tag)}, nil
}

func (p *dirPublisher) Publish(_ context.Context, r *Release, t *dist.Tree) (string, error) {
	p.runs++
	final := filepath.Join(p.registry, r.Tag)
	if _, err := os.Stat(final); err == nil {
		return "", fmt.Errorf("%s exists: the publisher never overwrites a version", final)
	}
	staging := final + ".partial"
	if err := os.RemoveAll(staging); err != nil {
		return "", err
	}
	files := append(t.Summed(), dist.SumsFile)
	files = append(files, t.Bundles()...)
	for i, rel := range files {
		if p.failAfter > 0 && i == p.failAfter {
			return "", errors.New("connection reset by peer (simulated) during upload")
		}
		data, err := os.ReadFile(t.Path(rel))
		if err != nil {
			return "", err
		}
		dst := filepath.Join(staging, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(staging, final); err != nil {
		return "", err
	}
	sum, err := sums.File(filepath.Join(final, dist.SumsFile))
	if err != nil {
		return "", err
	}
	return final + "@sha256:" + sum, nil
}

// dirVerifier checks the published copy: its SHA256SUMS is the one the ref
// names, every file matches it, and every bundle verifies with the key.
type dirVerifier struct {
	pub  ed25519.PublicKey
	fail error
}

func (v dirVerifier) Describe(context.Context, *Release) ([]string, error) {
	return []string{"verify the published copy"}, nil
}

func (v dirVerifier) Verify(_ context.Context, _ *Release, ref string, t *dist.Tree) error {
	if v.fail != nil {
		return v.fail
	}
	dir, digest, ok := strings.Cut(ref, "@sha256:")
	if !ok {
		return fmt.Errorf("ref %q is not by digest", ref)
	}
	if sum, err := sums.File(filepath.Join(dir, dist.SumsFile)); err != nil || sum != digest {
		return fmt.Errorf("published SHA256SUMS is %s, ref says %s (%v)", sum, digest, err)
	}
	entries, err := sums.ReadFile(filepath.Join(dir, dist.SumsFile))
	if err != nil {
		return err
	}
	if err := sums.Verify(dir, entries); err != nil {
		return err
	}
	for _, rel := range append(t.Artifacts(), dist.SumsFile) {
		data, err := os.ReadFile(filepath.Join(dir, rel+dist.BundleSuffix))
		if err != nil {
			return err
		}
		var b edBundle
		if err := json.Unmarshal(data, &b); err != nil {
			return err
		}
		sum, err := sums.File(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		if b.SHA256 != sum || !ed25519.Verify(v.pub, []byte(sum), b.Signature) {
			return fmt.Errorf("%s: bad signature", rel)
		}
	}
	return nil
}
