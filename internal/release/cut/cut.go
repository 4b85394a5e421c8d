// Package cut runs a release: policy gate -> build -> checksums, SBOM,
// provenance -> sign -> publish -> verify -> notes and tag. Each step is a
// Stage; the executor runs them in order, records every finished stage with
// the digests of the files it wrote in a state file, and so can resume after
// a failure without redoing finished work, and does nothing when re-run after
// success.
//
// Invariants the executor enforces, whatever the stages do:
//   - nothing is published before every earlier stage finished and the files
//     they wrote are still what they wrote (re-hashed right before);
//   - a finished stage's files are never changed by a later stage (the data
//     flows one way) nor behind the tool's back between runs;
//   - a resume continues the same release: same tag, same commit, same
//     toolchain.yaml.
package cut

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// Stage is one step of the release.
type Stage interface {
	// Name identifies the stage in the state file and in messages.
	Name() string
	// Describe says what Run would do, for the dry run. It may read and check
	// its inputs (a key is loadable, a registry name parses) but changes
	// nothing anywhere.
	Describe(ctx context.Context, r *Release) ([]string, error)
	// Run does the work. Files it writes under the dist root are recorded
	// by the executor; values it returns (digests of things that are not
	// local files) are recorded with them.
	Run(ctx context.Context, r *Release) (map[string]string, error)
	// Publishes reports whether the stage makes the release visible
	// outside this machine (a registry, a git remote).
	Publishes() bool
}

// Release is what every stage works on.
type Release struct {
	Tag    string
	Commit string
	// Repo is the git checkout being released.
	Repo     string
	Manifest *manifest.Toolchain
	AsOf     time.Time
	Plan     *plan.Plan
	// DistRoot is dist/; Dir is dist/<tag>/, the tree that is signed and
	// published; Book is dist/<tag>.release/, the release's bookkeeping.
	DistRoot, Dir, Book string
	Log                 *slog.Logger
	// Out receives what the dry run prints.
	Out io.Writer

	state *State
}

// Value returns a value a finished stage recorded (e.g. the digest the
// publish stage pushed, which verify checks).
func (r *Release) Value(stage, key string) (string, bool) { return r.state.Value(stage, key) }

// Options are the release manager's choices for one run.
type Options struct {
	DryRun bool
	Resume bool
	// Until stops after the named stage (the ci/ module runs up to notes and
	// leaves the tag to the workflow, which has push rights).
	Until string
	// Now is the clock for the state's timestamps (the decisions never read it).
	Now func() time.Time
}

// Result says what a run did.
type Result struct {
	// NoOp is true when the release was already complete.
	NoOp bool
	// Ran and Skipped list stage names; Skipped were finished before.
	Ran, Skipped []string
	// Stopped is the stage Until stopped after ("" = ran to the end).
	Stopped string
	State   *State
}

// ErrInProgress is returned when a state exists and --resume was not given.
var ErrInProgress = errors.New("a cut of this release is already in progress")

// ErrDrift is returned when the tree, the commit or the manifest changed
// under a release in progress.
var ErrDrift = errors.New("release inputs or outputs changed")

// StageError names the stage that failed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("stage %s failed: %v", e.Stage, e.Err)
}
func (e *StageError) Unwrap() error { return e.Err }

// Run executes stages for r.
func Run(ctx context.Context, r *Release, stages []Stage, opts Options) (Result, error) {
	if err := checkStages(stages, opts.Until); err != nil {
		return Result{}, err
	}
	if r.Tag == "" || r.DistRoot == "" || r.Manifest == nil || r.Plan == nil {
		return Result{}, errors.New("cut: the release needs a tag, a dist root, the manifest and the plan")
	}
	r.Dir, r.Book = filepath.Join(r.DistRoot, r.Tag), BookDir(r.DistRoot, r.Tag)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if r.Out == nil {
		r.Out = io.Discard
	}
	manifestSum, _, err := sha256sum.File(r.Manifest.Path)
	if err != nil {
		return Result{}, fmt.Errorf("hash the manifest: %w", err)
	}
	st, err := LoadState(r.DistRoot, r.Tag)
	if err != nil {
		return Result{}, err
	}
	if opts.DryRun {
		return dryRun(ctx, r, stages, st, manifestSum)
	}

	unlock, err := lock(r.Book)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	// Re-read under the lock: another cut may have finished meanwhile.
	if st, err = LoadState(r.DistRoot, r.Tag); err != nil {
		return Result{}, err
	}

	h := newHasher(r.DistRoot)
	switch {
	case st == nil && opts.Resume:
		return Result{}, fmt.Errorf("--resume: no cut of %s in progress (no %s); start it without --resume",
			r.Tag, StatePath(r.DistRoot, r.Tag))
	case st == nil:
		if err := freshStart(r); err != nil {
			return Result{}, err
		}
		st = &State{Schema: stateSchema, Tag: r.Tag, Kind: string(r.Plan.Decision.Kind), Commit: r.Commit,
			AsOf: r.AsOf.UTC().Format(time.DateOnly), Manifest: manifestSum}
	default:
		if err := sameRelease(r, st, manifestSum); err != nil {
			return Result{}, err
		}
		if len(st.Stages) < len(stages) && !opts.Resume {
			return Result{}, fmt.Errorf("%w: %s has finished %s; continue with `release cut --resume --version %s`",
				ErrInProgress, r.Tag, strings.Join(st.Finished(), ", "), r.Tag)
		}
	}
	r.state = st

	res := Result{State: st}
	complete := len(st.Stages) == len(stages)
	for i, s := range stages {
		name := s.Name()
		if rec := st.record(name); rec != nil {
			if err := verifyRecord(h, rec); err != nil {
				return res, err
			}
			res.Skipped = append(res.Skipped, name)
			r.Log.Info("stage already finished, outputs verified", "stage", name, "files", len(rec.Files))
			if name == opts.Until {
				res.Stopped = name
				break
			}
			continue
		}
		if len(st.Stages) != i {
			return res, fmt.Errorf("state of %s records stages %v out of order: it was edited; remove %s to start over",
				r.Tag, st.Finished(), r.Book)
		}
		if s.Publishes() {
			// The last look before anything leaves this machine.
			for j := range st.Stages {
				if err := verifyRecord(h, &st.Stages[j]); err != nil {
					return res, fmt.Errorf("before %s: %w", name, err)
				}
			}
		}
		before, err := h.snapshot(r.Tag, filepath.Base(r.Book))
		if err != nil {
			return res, err
		}
		r.Log.Info("stage start", "stage", name, "release", r.Tag)
		start := time.Now()
		values, err := s.Run(ctx, r)
		if err != nil {
			return res, &StageError{Stage: name, Err: fmt.Errorf("%w (fix the cause, then `release cut --resume --version %s`; finished stages are kept)", err, r.Tag)}
		}
		after, err := h.snapshot(r.Tag, filepath.Base(r.Book))
		if err != nil {
			return res, err
		}
		delete(before, statePathRel(r))
		delete(after, statePathRel(r))
		if err := earlierOutputsIntact(st, before, after, name); err != nil {
			return res, err
		}
		st.Stages = append(st.Stages, StageRecord{Name: name, Finished: opts.Now().UTC(), Files: newOutputs(st, after), Values: values})
		if err := st.save(r.DistRoot); err != nil {
			return res, err
		}
		r.Log.Info("stage done", "stage", name, "files", len(st.Stages[i].Files), "took", time.Since(start).Round(time.Millisecond))
		res.Ran = append(res.Ran, name)
		if name == opts.Until {
			res.Stopped = name
			break
		}
	}
	res.NoOp = complete && len(res.Ran) == 0
	return res, nil
}

func statePathRel(r *Release) string {
	return filepath.ToSlash(filepath.Join(filepath.Base(r.Book), "state.json"))
}

// mustPrecedePublish are the stages whose work must be done before anything
// leaves the machine.
var mustPrecedePublish = map[string]bool{StagePolicy: true, StageBuild: true, StageAttest: true, StageSign: true}

func checkStages(stages []Stage, until string) error {
	seen := map[string]bool{}
	published := ""
	for _, s := range stages {
		if seen[s.Name()] {
			return fmt.Errorf("stage %s listed twice", s.Name())
		}
		seen[s.Name()] = true
		if published != "" && mustPrecedePublish[s.Name()] {
			return fmt.Errorf("stage %s after %s: nothing may be published before everything is built and signed", s.Name(), published)
		}
		if published == "" && s.Publishes() {
			published = s.Name()
		}
	}
	if until != "" && !seen[until] {
		var names []string
		for _, s := range stages {
			names = append(names, s.Name())
		}
		return fmt.Errorf("--until %s: no such stage (stages: %s)", until, strings.Join(names, ", "))
	}
	return nil
}

// freshStart refuses to start over a dist tree that already has content:
// it could only come from an earlier attempt whose state is gone, and
// mixing its files into this release would sign what nobody built here.
func freshStart(r *Release) error {
	entries, err := os.ReadDir(r.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty but no state records how it was made: move it away (or remove it) and cut again", r.Dir)
	}
	return nil
}

func sameRelease(r *Release, st *State, manifestSum string) error {
	if st.Commit != r.Commit {
		return fmt.Errorf("%w: the cut of %s started at commit %s but HEAD is %s: check out %s to resume, or remove %s and %s to start over",
			ErrDrift, r.Tag, short(st.Commit), short(r.Commit), short(st.Commit), r.Book, r.Dir)
	}
	if st.Manifest != manifestSum {
		return fmt.Errorf("%w: %s changed since the cut of %s started: restore it, or remove %s and %s to start over",
			ErrDrift, r.Manifest.Path, r.Tag, r.Book, r.Dir)
	}
	return nil
}

// verifyRecord re-hashes a finished stage's files.
func verifyRecord(h *hasher, rec *StageRecord) error {
	for _, p := range slices.Sorted(maps.Keys(rec.Files)) {
		got, err := h.digest(p)
		if err != nil {
			return fmt.Errorf("%w: %s, written by stage %s, is gone (%v): restore it, or remove the release's state to start over",
				ErrDrift, p, rec.Name, err)
		}
		if got != rec.Files[p] {
			return fmt.Errorf("%w: %s, written by stage %s, changed since (%s, now %s): the tree was modified; restore it, or remove the release's state to start over",
				ErrDrift, p, rec.Name, rec.Files[p], got)
		}
	}
	return nil
}

// earlierOutputsIntact refuses a stage that rewrote or removed what an
// earlier stage produced.
func earlierOutputsIntact(st *State, before, after map[string]string, stage string) error {
	for _, rec := range st.Stages {
		for p := range rec.Files {
			if before[p] != after[p] {
				return fmt.Errorf("%w: stage %s changed %s, an output of stage %s: a later stage never rewrites an earlier one's output",
					ErrDrift, stage, p, rec.Name)
			}
		}
	}
	return nil
}

func dryRun(ctx context.Context, r *Release, stages []Stage, st *State, manifestSum string) (Result, error) {
	res := Result{State: st}
	if st != nil {
		if err := sameRelease(r, st, manifestSum); err != nil {
			return res, err
		}
		r.state = st
	} else {
		r.state = &State{Tag: r.Tag}
	}
	h := newHasher(r.DistRoot)
	fmt.Fprintf(r.Out, "Dry run of the cut of %s at %s: nothing is built, written, signed, published or tagged.\n", r.Tag, short(r.Commit))
	for i, s := range stages {
		name := s.Name()
		if rec := r.state.record(name); rec != nil {
			if err := verifyRecord(h, rec); err != nil {
				return res, err
			}
			fmt.Fprintf(r.Out, "\n[%d/%d] %s: finished %s, %d files verified: skipped\n", i+1, len(stages), name, rec.Finished.Format(time.RFC3339), len(rec.Files))
			res.Skipped = append(res.Skipped, name)
			continue
		}
		lines, err := s.Describe(ctx, r)
		if err != nil {
			return res, &StageError{Stage: name, Err: err}
		}
		fmt.Fprintf(r.Out, "\n[%d/%d] %s: would run\n", i+1, len(stages), name)
		for _, l := range lines {
			fmt.Fprintf(r.Out, "  %s\n", l)
		}
		res.Ran = append(res.Ran, name)
	}
	res.NoOp = st != nil && len(st.Stages) == len(stages)
	return res, nil
}

const lockName = ".lock"

// lock takes an exclusive flock on the release's bookkeeping directory. The
// kernel drops it when the process dies, so a killed cut never leaves a
// stale lock behind for the resume.
func lock(book string) (func(), error) {
	if err := os.MkdirAll(book, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", book, err)
	}
	f, err := os.OpenFile(filepath.Join(book, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock release: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another `release cut` is running for %s (lock %s held): wait for it to finish", filepath.Base(book), f.Name())
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// NewRelease is the release p decided on, to be cut from repo into distRoot.
func NewRelease(p *plan.Plan, repo, distRoot string, tc *manifest.Toolchain) *Release {
	return &Release{Tag: p.Decision.Tag, Commit: p.Head, Repo: repo, Manifest: tc, AsOf: p.AsOf, Plan: p, DistRoot: distRoot}
}
