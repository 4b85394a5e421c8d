package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Job kinds of a matrix run, as build records and reports name them.
const (
	JobBuilders = "builders"
	JobKernel   = "kernel"
	JobFirmware = "firmware"
	JobRootfs   = "rootfs"
	JobInitrd   = "initrd"
	JobImage    = "image"
)

// Job statuses; the same words as internal/report's build record.
const (
	JobOK      = "ok"
	JobFailed  = "failed"
	JobSkipped = "skipped"
)

// JobResult is one job of a matrix run: what it was, how long it took, what it made
// and how it ended.
type JobResult struct {
	// ID is unique in a run: kind/arch/variant for kernels, kind/arch/image for images.
	ID      string
	Kind    string
	Arch    string // canonical name; empty for the builder images
	Variant string
	Image   string
	// Files are the job's outputs in MatrixRun.Dir, the dist/<version>/ layout.
	Files    []string
	Duration time.Duration
	// Status is JobOK, JobFailed, or JobSkipped for a job that never ran or was
	// stopped because another job failed first.
	Status string
	// Err says why the job failed or was skipped.
	Err error
}

// JobError is the failure of one matrix job.
type JobError struct {
	ID  string
	Err error
}

func (e *JobError) Error() string { return "job " + e.ID + " failed: " + e.Err.Error() }
func (e *JobError) Unwrap() error { return e.Err }

// MatrixHooks let the caller of RunMatrix watch it.
type MatrixHooks struct {
	// JobLog returns the logger the steps of job id log to; nil: the pipeline's
	// logger with a job attribute.
	JobLog func(id string) *slog.Logger
	// Done is called once per job as it ends (from the job's goroutine).
	Done func(JobResult)
	// Heartbeat is how often a progress line names the jobs still running, so a
	// quiet half hour of kernel compiling does not look like a hang; 0 = never.
	Heartbeat time.Duration
}

// jobRunner runs the jobs of one matrix build: it times each, gives it its logger,
// stops the others when one fails (a release needs every artifact, so finishing the
// rest is wasted CPU), and reports the jobs still running on a heartbeat.
type jobRunner struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	log    *slog.Logger
	hooks  MatrixHooks

	mu      sync.Mutex
	results []JobResult
	running map[string]time.Time
	failed  string // the first job that failed
	stop    chan struct{}
}

func newJobRunner(ctx context.Context, log *slog.Logger, hooks MatrixHooks) *jobRunner {
	ctx, cancel := context.WithCancelCause(ctx)
	r := &jobRunner{ctx: ctx, cancel: cancel, log: log, hooks: hooks, running: map[string]time.Time{}, stop: make(chan struct{})}
	if hooks.Heartbeat > 0 {
		go r.heartbeat(hooks.Heartbeat)
	}
	return r
}

func (r *jobRunner) jobLog(id string) *slog.Logger {
	if r.hooks.JobLog != nil {
		if l := r.hooks.JobLog(id); l != nil {
			return l
		}
	}
	return r.log.With("job", id)
}

// run runs fn as job and reports whether it succeeded. A job whose run was already
// stopped by another's failure does not start.
func (r *jobRunner) run(job JobResult, fn func(ctx context.Context, log *slog.Logger) ([]string, error)) bool {
	r.mu.Lock()
	if r.failed != "" {
		first := r.failed
		r.mu.Unlock()
		r.skip(job, fmt.Errorf("not started: %s failed first", first))
		return false
	}
	start := time.Now()
	r.running[job.ID] = start
	r.mu.Unlock()
	log := r.jobLog(job.ID)
	log.Info("job started")

	files, err := fn(r.ctx, log)

	r.mu.Lock()
	delete(r.running, job.ID)
	job.Duration = time.Since(start)
	job.Files = files
	switch {
	case err == nil:
		job.Status = JobOK
	case r.failed != "" && r.ctx.Err() != nil:
		// Most likely the cancellation of the first failure reaching this job.
		job.Status, job.Err = JobSkipped, fmt.Errorf("stopped after %s failed: %w", r.failed, err)
	default:
		job.Status, job.Err = JobFailed, err
		r.failed = job.ID
		r.cancel(&JobError{ID: job.ID, Err: err})
	}
	r.results = append(r.results, job)
	r.mu.Unlock()

	took := job.Duration.Round(time.Millisecond)
	switch job.Status {
	case JobOK:
		log.Info("job done", "took", took, "files", len(files))
	case JobSkipped:
		log.Warn("job stopped", "took", took, "reason", job.Err)
	default:
		log.Error("job failed", "took", took, "error", err)
	}
	if r.hooks.Done != nil {
		r.hooks.Done(job)
	}
	return job.Status == JobOK
}

// skip records a job that did not run.
func (r *jobRunner) skip(job JobResult, why error) {
	job.Status, job.Err = JobSkipped, why
	r.mu.Lock()
	r.results = append(r.results, job)
	r.mu.Unlock()
	r.jobLog(job.ID).Warn("job skipped", "reason", why)
	if r.hooks.Done != nil {
		r.hooks.Done(job)
	}
}

func (r *jobRunner) heartbeat(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		var parts []string
		for _, id := range slices.Sorted(mapKeys(r.running)) {
			parts = append(parts, fmt.Sprintf("%s (%s)", id, time.Since(r.running[id]).Round(time.Second)))
		}
		done := len(r.results)
		r.mu.Unlock()
		if len(parts) > 0 {
			r.log.Info("matrix: still running", "jobs", strings.Join(parts, ", "), "finished", done)
		}
	}
}

// finish ends the run: the results in ID order, and the failures (not the jobs
// they stopped) joined as JobErrors.
func (r *jobRunner) finish() ([]JobResult, error) {
	close(r.stop)
	r.cancel(nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	res := slices.Clone(r.results)
	slices.SortFunc(res, func(a, b JobResult) int { return strings.Compare(a.ID, b.ID) })
	var errs []error
	for _, j := range res {
		if j.Status == JobFailed {
			errs = append(errs, &JobError{ID: j.ID, Err: j.Err})
		}
	}
	return res, errors.Join(errs...)
}
