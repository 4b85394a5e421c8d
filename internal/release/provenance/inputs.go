package provenance

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/guestforge/guestforge/internal/manifest"
)

// ParseBuilder reads a --builder flag: name=ref@sha256:<hex>, or
// name=sha256:<hex> when the image has no registry reference (an OCI
// tarball built offline).
func ParseBuilder(s string) (BuilderImage, error) {
	n, rest, ok := strings.Cut(s, "=")
	if !ok || n == "" || rest == "" {
		return BuilderImage{}, fmt.Errorf("builder %q: want name=ref@sha256:<hex> or name=sha256:<hex>", s)
	}
	b := BuilderImage{Name: n}
	if ref, dig, ok := strings.Cut(rest, "@"); ok {
		b.Ref, b.Digest = ref, dig
	} else {
		b.Digest = rest
	}
	if !digestRE.MatchString(b.Digest) {
		return BuilderImage{}, fmt.Errorf("builder %q: %q is not algorithm:hex", s, b.Digest)
	}
	return b, nil
}

// FromToolchain adds what toolchain.yaml pins: builder images that name a
// digest, the kernel source archive and the Debian suite.
func FromToolchain(tc *manifest.Toolchain) ([]BuilderImage, []ResourceDescriptor, error) {
	var builders []BuilderImage
	for name, b := range tc.Builders {
		if b.Digest == "" {
			continue
		}
		bi, err := ParseBuilder(name + "=" + b.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: builders.%s.digest: %w", tc.Path, name, err)
		}
		builders = append(builders, bi)
	}
	var deps []ResourceDescriptor
	if tc.Kernel.URL != "" {
		deps = append(deps, ResourceDescriptor{Name: "kernel-source", URI: tc.Kernel.URL, Digest: map[string]string{"sha256": tc.Kernel.SHA256}})
	}
	if tc.Distro.Mirror != "" {
		deps = append(deps, ResourceDescriptor{Name: "distro", URI: strings.TrimSuffix(tc.Distro.Mirror, "/") + "/dists/" + tc.Distro.Suite})
	}
	return builders, deps, nil
}

// GitHead is the commit checked out in dir, refusing a dirty work tree: a
// provenance naming a commit the build did not come from is worse than none.
func GitHead(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	status, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", err
	}
	if status != "" {
		return "", fmt.Errorf("%s has uncommitted changes: commit them, or pass --commit to name the commit the build came from", dir)
	}
	return out, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s (pass --commit)", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
