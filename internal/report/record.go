package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// Record is build-record.json: what the pipelines ran. Builds write it next
// to the dist trees with a Recorder. Whether the artifacts are reproducible is
// not a build's to say: the gate's own report says it (Options.Repro).
type Record struct {
	Version string `json:"version,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// Finished is when the build ended (RFC 3339, UTC).
	Finished string       `json:"finished,omitempty"`
	Steps    []RecordStep `json:"steps"`
}

// RecordStep is one step as a pipeline reports it.
type RecordStep struct {
	// ID is unique in the record, e.g. "kernel/x86_64/default".
	ID string `json:"id"`
	// Kind is the step's job: kernel, rootfs, initrd, image, ...
	Kind    string `json:"kind"`
	Arch    string `json:"arch,omitempty"`
	Variant string `json:"variant,omitempty"`
	Image   string `json:"image,omitempty"`
	// Status is ok, failed or skipped.
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	// CacheHit is nil when the engine did not say.
	CacheHit *bool `json:"cache_hit,omitempty"`
	// Log is a path relative to the dist directory (logs/...) or a URL.
	Log   string `json:"log,omitempty"`
	Error string `json:"error,omitempty"`
	// Outputs are the files the step made (or should have made), as paths
	// relative to the dist directory.
	Outputs []string `json:"outputs,omitempty"`
}

// ReadRecord reads one build record.
func ReadRecord(file string) (*Record, error) {
	data, err := boundedio.ReadFileLimit(file, MaxInputBytes, "a build record")
	if err != nil {
		return nil, fmt.Errorf("read build record: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w (is this a %s written by a guestforge build?)", file, jsonWhere(data, err), RecordFile)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &r, nil
}

func (r *Record) check() error {
	seen := map[string]bool{}
	var errs []error
	for i, s := range r.Steps {
		switch {
		case s.ID == "":
			errs = append(errs, fmt.Errorf("steps[%d]: id is empty", i))
		case seen[s.ID]:
			errs = append(errs, fmt.Errorf("steps[%d]: id %q used twice", i, s.ID))
		}
		seen[s.ID] = true
		if !slices.Contains([]string{StatusOK, StatusFailed, StatusSkipped}, s.Status) {
			errs = append(errs, fmt.Errorf("steps[%d] (%s): status %q is not ok, failed or skipped", i, s.ID, s.Status))
		}
		if s.DurationMS < 0 {
			errs = append(errs, fmt.Errorf("steps[%d] (%s): negative duration", i, s.ID))
		}
		for _, o := range s.Outputs {
			if err := checkRel(o); err != nil {
				errs = append(errs, fmt.Errorf("steps[%d] (%s): output %w", i, s.ID, err))
			}
		}
	}
	if r.Finished != "" {
		if _, err := time.Parse(time.RFC3339, r.Finished); err != nil {
			errs = append(errs, fmt.Errorf("finished %q is not RFC 3339", r.Finished))
		}
	}
	return errors.Join(errs...)
}

// checkRel keeps record paths inside the dist directory.
func checkRel(rel string) error {
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, `\`) || path.Clean(rel) != rel ||
		rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("path %q is not a clean relative path inside the dist directory", rel)
	}
	return nil
}

// Merge combines records (of builds into the same dist directory, say). Later
// records win for a step ID they share; the version, commit and finish time
// come from the first record that has them.
func Merge(records ...*Record) *Record {
	out := &Record{}
	stepAt := map[string]int{}
	for _, r := range records {
		if r == nil {
			continue
		}
		if out.Version == "" {
			out.Version = r.Version
		}
		if out.Commit == "" {
			out.Commit = r.Commit
		}
		if out.Finished == "" {
			out.Finished = r.Finished
		}
		for _, s := range r.Steps {
			if i, ok := stepAt[s.ID]; ok {
				out.Steps[i] = s
				continue
			}
			stepAt[s.ID] = len(out.Steps)
			out.Steps = append(out.Steps, s)
		}
	}
	return out
}

// Recorder collects steps from pipelines running in parallel and writes the
// record once at the end.
type Recorder struct {
	mu  sync.Mutex
	rec Record
}

// NewRecorder starts a record for version built from commit.
func NewRecorder(version, commit string) *Recorder {
	return &Recorder{rec: Record{Version: version, Commit: commit}}
}

// Add records one finished step. It is safe for concurrent use.
func (r *Recorder) Add(s RecordStep) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Steps = append(r.rec.Steps, s)
}

// Write stores the record at file with finished as the end time. Steps are
// sorted so the bytes do not depend on which parallel step finished first.
func (r *Recorder) Write(file string, finished time.Time) error {
	r.mu.Lock()
	rec := r.rec
	rec.Steps = slices.Clone(r.rec.Steps)
	r.mu.Unlock()
	rec.Finished = finished.UTC().Format(time.RFC3339)
	slices.SortFunc(rec.Steps, func(a, b RecordStep) int { return strings.Compare(a.ID, b.ID) })
	if err := rec.check(); err != nil {
		return fmt.Errorf("build record for %s: %w", file, err)
	}
	data, err := marshal(rec)
	if err != nil {
		return err
	}
	return writeFile(file, data)
}
