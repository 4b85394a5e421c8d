package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Input is what the provenance states beyond the artifacts themselves.
type Input struct {
	// Commit is the git commit the release was built from (40 hex digits).
	Commit string
	// Repository is the source repository URL, e.g.
	// https://github.com/guestforge/guestforge; optional.
	Repository string
	// ToolchainSHA256 is the digest of toolchain.yaml as built.
	ToolchainSHA256 string
	// Builders are the builder images the pipelines ran in.
	Builders []BuilderImage
	// Dependencies are further pinned inputs (kernel source, distro mirror).
	Dependencies []ResourceDescriptor
	// Parameters are the build's external parameters (arches, images,
	// variants, flags), recorded as given.
	Parameters map[string]string
	// BuilderID identifies the platform (a GitHub workflow URL in Actions);
	// DefaultBuilder when empty.
	BuilderID string
	// InvocationID identifies the run (the Actions run URL), optional.
	InvocationID string
}

// BuilderImage is one builder image and its content digest.
type BuilderImage struct {
	Name   string // kernel, rootfs, image
	Ref    string // where it came from: a registry reference or an OCI tarball name
	Digest string // algorithm:hex, e.g. sha256:...
}

var (
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	hexRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	digestRE = regexp.MustCompile(`^(sha256|sha512):[0-9a-f]{64,128}$`)
)

func (in Input) validate() error {
	var errs []error
	if !commitRE.MatchString(in.Commit) {
		errs = append(errs, fmt.Errorf("git commit %q is not a full lowercase hex commit id (pass --commit or run inside the git checkout)", in.Commit))
	}
	if !hexRE.MatchString(in.ToolchainSHA256) {
		errs = append(errs, fmt.Errorf("toolchain.yaml digest %q is not a hex SHA-256", in.ToolchainSHA256))
	}
	for _, b := range in.Builders {
		if b.Name == "" || !digestRE.MatchString(b.Digest) {
			errs = append(errs, fmt.Errorf("builder image %q: digest %q is not algorithm:hex (pass --builder name=ref@sha256:<hex>)", b.Name, b.Digest))
		}
	}
	return errors.Join(errs...)
}

// New builds the statement for the tree's artifacts.
func New(t *dist.Tree, in Input) (*Statement, error) {
	if err := in.validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	entries, err := sums.Compute(t.Root, t.Artifacts())
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("provenance: the dist tree has no artifacts")
	}
	st := &Statement{Type: StatementType, PredicateType: PredicateType}
	for _, e := range entries {
		st.Subject = append(st.Subject, ResourceDescriptor{Name: e.Path, Digest: map[string]string{"sha256": e.SHA256}})
	}

	var arches []string
	for _, ad := range t.Arches {
		arches = append(arches, ad.Arch.Name)
	}
	ext := map[string]any{"version": t.Version, "arches": arches}
	if len(in.Parameters) > 0 {
		params := map[string]any{}
		for k, v := range in.Parameters {
			params[k] = v
		}
		ext["parameters"] = params
	}
	if in.Repository != "" {
		ext["source"] = ResourceDescriptor{URI: gitURI(in.Repository, in.Commit), Digest: map[string]string{"gitCommit": in.Commit}}
	}

	deps := []ResourceDescriptor{
		{Name: "source", URI: gitURI(in.Repository, in.Commit), Digest: map[string]string{"gitCommit": in.Commit}},
		{Name: "toolchain.yaml", URI: fileURI(in.Repository, in.Commit, "toolchain.yaml"), Digest: map[string]string{"sha256": in.ToolchainSHA256}},
	}
	builders := append([]BuilderImage(nil), in.Builders...)
	sort.Slice(builders, func(i, j int) bool { return builders[i].Name < builders[j].Name })
	for _, b := range builders {
		alg, hex, _ := strings.Cut(b.Digest, ":")
		deps = append(deps, ResourceDescriptor{Name: "builder/" + b.Name, URI: b.Ref, Digest: map[string]string{alg: hex}})
	}
	extra := append([]ResourceDescriptor(nil), in.Dependencies...)
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name+extra[i].URI < extra[j].Name+extra[j].URI })
	deps = append(deps, extra...)

	builder := in.BuilderID
	if builder == "" {
		builder = DefaultBuilder
	}
	st.Predicate = Provenance{
		BuildDefinition: BuildDefinition{BuildType: BuildType, ExternalParameters: ext, ResolvedDependencies: deps},
		RunDetails:      RunDetails{Builder: Builder{ID: builder}},
	}
	if in.InvocationID != "" {
		st.Predicate.RunDetails.Metadata = &Metadata{InvocationID: in.InvocationID}
	}
	return st, nil
}

func gitURI(repo, commit string) string {
	if repo == "" {
		return ""
	}
	return "git+" + strings.TrimSuffix(repo, "/") + "@" + commit
}

func fileURI(repo, commit, file string) string {
	if repo == "" {
		return ""
	}
	return gitURI(repo, commit) + "#" + file
}

// Marshal renders statements as JSON lines (one compact statement a line).
// encoding/json sorts map keys, so the output is deterministic.
func Marshal(sts ...*Statement) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, st := range sts {
		if err := enc.Encode(st); err != nil {
			return nil, fmt.Errorf("provenance: encode: %w", err)
		}
	}
	return b.Bytes(), nil
}

// Write generates the statement and writes provenance.intoto.jsonl.
func Write(t *dist.Tree, in Input) (*Statement, error) {
	st, err := New(t, in)
	if err != nil {
		return nil, err
	}
	body, err := Marshal(st)
	if err != nil {
		return nil, err
	}
	if err := dist.WriteFile(t.Path(dist.ProvenanceFile), body); err != nil {
		return nil, err
	}
	return st, nil
}
