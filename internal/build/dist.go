package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/guestforge/guestforge/internal/report"
)

// DistSpec is one build of a target set into a dist directory: the main job
// (`release build --all`) and the build stage of `release cut` both run it.
type DistSpec struct {
	Matrix MatrixSpec
	// Out is the dist directory. Artifacts go to Out/<arch>/, or with Version to
	// Out/<version>/<arch>/; report.json, report.html, the build record and logs/
	// go to Out.
	Out     string
	Version string
	// Commit is recorded in the build record and the report ("" = unknown).
	Commit string
	// Heartbeat: see MatrixHooks.
	Heartbeat time.Duration
	// Now is the clock of the record's finish time; default time.Now.
	Now func() time.Time
}

// EngineLogName is the file in Out/logs/ that callers send the engine's progress to,
// so the per-job logs and the terminal stay readable.
const EngineLogName = "engine.log"

// DistResult is what BuildDist did.
type DistResult struct {
	Run *MatrixRun
	// Files are the artifacts placed, relative to Out.
	Files  []string
	Report *report.Report
	// RecordFile, JSONFile and HTMLFile are the files written next to the trees.
	RecordFile, JSONFile, HTMLFile string
}

// JobLogPath is the log of a job relative to the dist directory.
func JobLogPath(id string) string {
	return path.Join(report.LogsDir, strings.ReplaceAll(id, "/", "-")+".log")
}

// BuildDist builds spec's matrix and places it in the dist directory without ever
// leaving a half-written tree there (ExportDist). Each job logs to Out/logs/<job>.log
// as well as to the pipeline's logger. Success or not, it writes the build record
// and report.json + report.html, so a failed build shows which job failed and why;
// the error names the failing job and its log.
func (p *Pipeline) BuildDist(ctx context.Context, repo *Repo, spec DistSpec) (*DistResult, error) {
	if spec.Out == "" {
		return nil, errors.New("build: no dist directory")
	}
	now := spec.Now
	if now == nil {
		now = time.Now
	}
	logs := newJobLogs(filepath.Join(spec.Out, filepath.FromSlash(report.LogsDir)), p.Log)
	defer logs.close()
	res := &DistResult{}
	run, err := p.RunMatrix(ctx, repo, spec.Matrix, MatrixHooks{JobLog: logs.logger, Heartbeat: spec.Heartbeat})
	if run == nil { // nothing ran: the plan itself was refused
		return nil, err
	}
	logs.close() // flush before the report links them
	res.Run = run
	prefix := spec.Version
	dest := filepath.Join(spec.Out, spec.Version)
	if err == nil {
		p.Log.Info("export", "to", dest)
		placed, xerr := ExportDist(ctx, run.Dir, dest, spec.Out)
		if xerr != nil {
			err = fmt.Errorf("build finished, but placing it in %s failed (nothing there was changed): %w", dest, xerr)
		}
		for _, f := range placed {
			res.Files = append(res.Files, path.Join(prefix, f))
		}
	} else {
		err = withLogs(err, spec.Out, logs.opened())
	}
	rec := report.NewRecorder(spec.Version, spec.Commit)
	for _, s := range RecordSteps(run.Jobs, prefix, logs.opened()) {
		rec.Add(s)
	}
	if rerr := p.writeReport(rec, repo, spec, now(), res); rerr != nil {
		if err != nil {
			p.Log.Error("could not write the report of the failed build", "error", rerr)
			return res, err
		}
		return res, rerr
	}
	return res, err
}

func (p *Pipeline) writeReport(rec *report.Recorder, repo *Repo, spec DistSpec, finished time.Time, res *DistResult) error {
	res.RecordFile = filepath.Join(spec.Out, report.RecordFile)
	if err := rec.Write(res.RecordFile, finished); err != nil {
		return err
	}
	r, err := report.ReadRecord(res.RecordFile)
	if err != nil {
		return err
	}
	rep, err := report.Build(report.Options{Dist: spec.Out, Version: spec.Version, Record: r, Toolchain: repo.Toolchain, Log: p.Log})
	if err != nil {
		return fmt.Errorf("build report: %w", err)
	}
	res.Report = rep
	res.JSONFile = filepath.Join(spec.Out, report.JSONFile)
	res.HTMLFile = filepath.Join(spec.Out, report.HTMLFile)
	if err := report.WriteJSON(res.JSONFile, rep); err != nil {
		return err
	}
	return report.WriteHTML(rep, report.HTMLOptions{Dist: spec.Out, Out: res.HTMLFile})
}

// RecordSteps turns the jobs of a run into build record steps: outputs relative to
// the dist directory (under prefix, the version directory or ""), logs where a job
// has one. The engine does not tell a library client whether a step was a cache hit,
// so CacheHit stays unknown, except for the initrd, which this process packs every
// time: never a cache hit.
func RecordSteps(jobs []JobResult, prefix string, logs map[string]bool) []report.RecordStep {
	var out []report.RecordStep
	no := false
	for _, j := range jobs {
		s := report.RecordStep{ID: j.ID, Kind: j.Kind, Arch: j.Arch, Variant: j.Variant, Image: j.Image,
			Status: j.Status, DurationMS: j.Duration.Milliseconds()}
		if j.Kind == JobInitrd && j.Status == JobOK {
			s.CacheHit = &no
		}
		if j.Err != nil {
			s.Error = j.Err.Error()
		}
		if logs[j.ID] {
			s.Log = JobLogPath(j.ID)
		}
		for _, f := range j.Files {
			s.Outputs = append(s.Outputs, path.Join(prefix, f))
		}
		out = append(out, s)
	}
	return out
}

// withLogs adds the log of every failed job to the error.
func withLogs(err error, out string, logs map[string]bool) error {
	var hints []string
	for _, e := range joined(err) {
		var je *JobError
		if errors.As(e, &je) && logs[je.ID] {
			hints = append(hints, filepath.Join(out, filepath.FromSlash(JobLogPath(je.ID))))
		}
	}
	if len(hints) == 0 {
		return err
	}
	return fmt.Errorf("%w\nlog: %s; the engine's own progress is in %s", err, strings.Join(hints, ", "),
		filepath.Join(out, filepath.FromSlash(report.LogsDir), EngineLogName))
}

func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// jobLogs gives every job a logger that writes to the pipeline's logger (with a job
// attribute) and to the job's own file under dir.
type jobLogs struct {
	dir   string
	base  *slog.Logger
	mu    sync.Mutex
	files map[string]*os.File
	ok    map[string]bool
}

func newJobLogs(dir string, base *slog.Logger) *jobLogs {
	return &jobLogs{dir: dir, base: base, files: map[string]*os.File{}, ok: map[string]bool{}}
}

func (l *jobLogs) logger(id string) *slog.Logger {
	base := l.base.With("job", id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.files[id]; ok {
		return slog.New(slog.NewMultiHandler(base.Handler(), slog.NewTextHandler(f, nil)))
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		base.Warn("no job log", "error", err)
		return base
	}
	f, err := os.Create(filepath.Join(l.dir, filepath.Base(JobLogPath(id))))
	if err != nil {
		base.Warn("no job log", "error", err)
		return base
	}
	l.files[id] = f
	l.ok[id] = true
	return slog.New(slog.NewMultiHandler(base.Handler(), slog.NewTextHandler(f, nil)))
}

// opened are the jobs that have a log file.
func (l *jobLogs) opened() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for k, v := range l.ok {
		out[k] = v
	}
	return out
}

func (l *jobLogs) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, f := range l.files {
		f.Close()
		delete(l.files, id)
	}
}
