// Package provenance writes and checks provenance.intoto.jsonl: in-toto
// Statement v1 lines carrying a SLSA Provenance v1 predicate whose subjects
// are every artifact of a dist tree, and whose resolved dependencies are the
// inputs that made them (the git commit, toolchain.yaml, builder images,
// the kernel source). Statements are deterministic: same inputs, same bytes.
package provenance

// The in-toto and SLSA types, as plain structs rather than the protobuf
// bindings: protojson deliberately randomises whitespace, and a provenance
// file must be byte-stable to be reproducible.

// Statement is an in-toto Statement v1.
type Statement struct {
	Type          string               `json:"_type"`
	Subject       []ResourceDescriptor `json:"subject"`
	PredicateType string               `json:"predicateType"`
	Predicate     Provenance           `json:"predicate"`
}

// ResourceDescriptor is in-toto's reference to an artifact.
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Provenance is the SLSA Provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// RunDetails says who built it.
type RunDetails struct {
	Builder  Builder   `json:"builder"`
	Metadata *Metadata `json:"metadata,omitempty"`
}

// Builder identifies the build platform.
type Builder struct {
	ID string `json:"id"`
}

// Metadata identifies one run. Timestamps are left out on purpose: they
// would make two builds of the same inputs differ.
type Metadata struct {
	InvocationID string `json:"invocationId,omitempty"`
}

// URIs of the formats written.
const (
	StatementType  = "https://in-toto.io/Statement/v1"
	PredicateType  = "https://slsa.dev/provenance/v1"
	BuildType      = "https://github.com/guestforge/guestforge/buildtypes/dagger@v1"
	DefaultBuilder = "https://github.com/guestforge/guestforge/builders/release-cli@v1"
)
