package cut

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// stateSchema is bumped when the state file changes incompatibly; an old
// state is then refused instead of misread.
const stateSchema = 1

// State is the release's progress, written after every finished stage to
// dist/<tag>.release/state.json. It lives next to the dist tree, not in
// it, because everything inside dist/<tag>/ is summed, signed and
// published.
type State struct {
	Schema int    `json:"schema"`
	Tag    string `json:"tag"`
	Kind   string `json:"kind"`
	Commit string `json:"commit"`
	// AsOf is the date the release was planned for (YYYY-MM-DD); a resume
	// plans with the same date so it reaches the same decision.
	AsOf string `json:"as_of"`
	// Manifest is the sha256 of toolchain.yaml when the cut started.
	Manifest string        `json:"manifest_sha256"`
	Stages   []StageRecord `json:"stages"`
}

// StageRecord is one finished stage.
type StageRecord struct {
	Name     string    `json:"name"`
	Finished time.Time `json:"finished"`
	// Files are the files the stage created or changed, relative to the
	// dist root (dist/), with their "sha256:<hex>" digests.
	Files map[string]string `json:"files,omitempty"`
	// Values are results that are not local files: a published digest, a
	// policy report digest, a tag.
	Values map[string]string `json:"values,omitempty"`
}

// record returns the record of stage name, or nil.
func (s *State) record(name string) *StageRecord {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i]
		}
	}
	return nil
}

// Value returns a value recorded by a finished stage.
func (s *State) Value(stage, key string) (string, bool) {
	r := s.record(stage)
	if r == nil {
		return "", false
	}
	v, ok := r.Values[key]
	return v, ok
}

// Finished lists the finished stages in order.
func (s *State) Finished() []string {
	var out []string
	for _, r := range s.Stages {
		out = append(out, r.Name)
	}
	return out
}

// StatePath is where the state of the release tag lives under distRoot.
func StatePath(distRoot, tag string) string {
	return filepath.Join(BookDir(distRoot, tag), "state.json")
}

// BookDir is the release's bookkeeping directory: state, policy report,
// notes. It is a sibling of dist/<tag>/ so none of it lands in the signed tree.
func BookDir(distRoot, tag string) string { return filepath.Join(distRoot, tag+".release") }

// LoadState reads the state of tag; it returns (nil, nil) when there is none.
func LoadState(distRoot, tag string) (*State, error) {
	p := StatePath(distRoot, tag)
	data, err := boundedio.ReadFileLimit(p, 16*boundedio.MiB, "a release state file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read release state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: corrupt release state (%w): inspect it; to start the release over, remove %s and dist/%s",
			p, err, filepath.Dir(p), tag)
	}
	if s.Schema != stateSchema {
		return nil, fmt.Errorf("%s: state schema %d, this release tool writes %d: finish the release with the tool that started it",
			p, s.Schema, stateSchema)
	}
	if s.Tag != tag {
		return nil, fmt.Errorf("%s: records release %s, not %s: the file was moved or edited", p, s.Tag, tag)
	}
	return &s, nil
}

// FindInProgress returns the tags under distRoot whose state is not
// complete for the given stage list, so `release cut --resume` can find the
// release to continue without being told.
func FindInProgress(distRoot string, stages []string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(distRoot, "*.release", "state.json"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		tag := filepath.Base(filepath.Dir(m))
		tag = tag[:len(tag)-len(".release")]
		s, err := LoadState(distRoot, tag)
		if err != nil {
			return nil, err
		}
		if len(s.Stages) < len(stages) {
			out = append(out, tag)
		}
	}
	return out, nil
}

// save writes the state atomically: a crash leaves either the old or the new
// file, never half of one, so a resume always reads a consistent record.
func (s *State) save(distRoot string) error {
	p := StatePath(distRoot, s.Tag)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("save release state: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".state-*.json")
	if err != nil {
		return fmt.Errorf("save release state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save release state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save release state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save release state: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("save release state: %w", err)
	}
	return nil
}
