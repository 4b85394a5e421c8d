// Package report describes what a build or release produced: report.json, a
// deterministic record per artifact (target, kind, status, duration, size,
// sha256, cache hit, reproducibility, maintainers, support status, log), and
// report.html, a self-contained page with a sortable, filterable table and
// charts, including history across releases from earlier report.json files.
//
// The report is assembled from four inputs, each optional except the first:
// the dist tree (what exists, its sizes and digests), the build record the
// pipelines write (what ran, how long, cache hits, logs, failures), the
// reproducibility gate's verdict (internal/release/repro's report: which
// artifacts two cache-disabled builds made byte for byte alike), and
// toolchain.yaml (who maintains a target, its status).
package report

// Schema identifies the report.json format; readers refuse other values.
const Schema = "guestforge.report/v1"

// File names the report stage writes at the top of the dist directory, next
// to (never inside) the dist/<version>/ trees, so they are not signed or
// published as release artifacts.
const (
	JSONFile   = "report.json"
	HTMLFile   = "report.html"
	RecordFile = "build-record.json"
	// LogsDir is where pipelines put step logs, relative to the dist directory.
	LogsDir = "logs"
	// ReproDir is where `release repro` (and `make repro`) puts the gate's two
	// trees and its verdict by default, relative to the dist directory: never
	// part of the dist tree.
	ReproDir = "repro"
	// ReproFile is the gate's verdict in ReproDir, what `release report --repro`
	// joins.
	ReproFile = "report.json"
)

// Tri is a yes/no answer that may not be known (no record, no repro run).
type Tri string

// The values of Tri.
const (
	Yes     Tri = "yes"
	No      Tri = "no"
	Unknown Tri = "unknown"
)

// TriOf turns an optional bool into a Tri.
func TriOf(b *bool) Tri {
	switch {
	case b == nil:
		return Unknown
	case *b:
		return Yes
	}
	return No
}

// Artifact statuses.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	// StatusMissing: the record says the step succeeded and produced this
	// file, but the dist tree does not have it.
	StatusMissing = "missing"
	StatusSkipped = "skipped"
)

// Report is report.json.
type Report struct {
	Schema  string `json:"schema"`
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// Created is when the build finished (RFC 3339, UTC), from the build
	// record; empty without one. Never the time the report was rendered, so
	// rendering twice gives the same bytes.
	Created   string     `json:"created,omitempty"`
	Totals    Totals     `json:"totals"`
	Steps     []Step     `json:"steps"`
	Artifacts []Artifact `json:"artifacts"`
	// History summarises earlier releases, oldest first, from the report.json
	// files passed with --history; it never holds this report's version.
	History []Summary `json:"history,omitempty"`
}

// Step is one pipeline step (a kernel build, a rootfs, an initrd pack...).
type Step struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Arch       string `json:"arch,omitempty"`
	Variant    string `json:"variant,omitempty"`
	Image      string `json:"image,omitempty"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	CacheHit   Tri    `json:"cache_hit"`
	Log        string `json:"log,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Artifact is one file of the dist tree, or one a failed step should have made.
// Reproducible is the gate's verdict on it, unknown where the gate did not
// compare these bytes (see applyRepro); ReproDiff says what differed first.
type Artifact struct {
	// Path is slash-separated, relative to the dist directory.
	Path    string `json:"path"`
	Name    string `json:"name"`
	Arch    string `json:"arch,omitempty"`
	Variant string `json:"variant,omitempty"`
	Image   string `json:"image,omitempty"`
	// Kind is vmlinuz, vmlinux, config, system-map, initrd, rootfs, verity,
	// root-hash, sbom, signature, checksums, provenance or other.
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Step is the ID of the step that produced it; DurationMS and CacheHit are
	// that step's (a step producing four files spent its time once).
	Step         string   `json:"step,omitempty"`
	DurationMS   int64    `json:"duration_ms"`
	Size         int64    `json:"size"`
	SHA256       string   `json:"sha256,omitempty"`
	CacheHit     Tri      `json:"cache_hit"`
	Reproducible Tri      `json:"reproducible"`
	ReproDiff    string   `json:"repro_diff,omitempty"`
	Maintainers  []string `json:"maintainers"`
	Support      string   `json:"support,omitempty"`
	Log          string   `json:"log,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// Key names an artifact across releases: stable while file names carry
// versions and config hashes that change every release.
func (a Artifact) Key() string {
	key := a.Arch
	if key == "" {
		key = "release" // SHA256SUMS, provenance: one per release
	}
	key += "/" + a.Kind
	switch {
	case a.Image != "":
		key += "/" + a.Image
	case a.Variant != "":
		key += "/" + a.Variant
	}
	return key
}

// Totals are the headline numbers of one report.
type Totals struct {
	Artifacts int   `json:"artifacts"`
	Failed    int   `json:"failed"`
	Size      int64 `json:"size"`
	// DurationMS sums the steps, each once.
	DurationMS   int64 `json:"duration_ms"`
	CacheHits    int   `json:"cache_hits"`
	CacheMisses  int   `json:"cache_misses"`
	Reproducible int   `json:"reproducible"`
	Unreproduced int   `json:"unreproducible"`
}

// Summary is an earlier release as history keeps it.
type Summary struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Created string `json:"created,omitempty"`
	Totals  Totals `json:"totals"`
	// Sizes maps Artifact.Key to size, for trends per artifact.
	Sizes map[string]int64 `json:"sizes"`
}
