package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/build/session"
)

// OpenSpec is the engine session of a front door over a local checkout.
type OpenSpec struct {
	// Root is the checkout: toolchain.yaml, kernel-configs/ and RepoSources.
	Root string
	// LogDir, when set, gets the engine's progress (thousands of lines per kernel
	// build) in LogDir/EngineLogName, so the job logs and the terminal stay readable.
	LogDir string
	// Progress gets the engine's progress too (nil: only LogDir's file, if any).
	Progress io.Writer
	// Log is the pipeline's logger (nil: discarded).
	Log *slog.Logger
}

// Session is an open engine session with the checkout to build.
type Session struct {
	Pipeline *Pipeline
	Repo     *Repo
	// EngineLog is the file the engine's progress goes to ("" without LogDir).
	EngineLog string
	close     func() error
}

// Close ends the session and closes the engine log.
func (s *Session) Close() error {
	if s == nil || s.close == nil {
		return nil
	}
	return s.close()
}

// Open connects to the engine the environment names (session.Connect) and opens the
// checkout at spec.Root. A log directory that cannot be written or a checkout that
// does not load is ErrBadInput (a wrong --out or --manifest); an engine that cannot
// be reached is ErrEngine, and the error names the engine log.
func Open(ctx context.Context, spec OpenSpec) (*Session, error) {
	s := &Session{}
	progress := spec.Progress
	var engineLog *os.File
	if spec.LogDir != "" {
		if err := os.MkdirAll(spec.LogDir, 0o755); err != nil {
			return nil, badInput(err)
		}
		f, err := os.Create(filepath.Join(spec.LogDir, EngineLogName))
		if err != nil {
			return nil, badInput(err)
		}
		engineLog, s.EngineLog = f, f.Name()
		progress = f
		if spec.Progress != nil {
			progress = io.MultiWriter(f, spec.Progress)
		}
	}
	closeLog := func() error {
		if engineLog == nil {
			return nil
		}
		return engineLog.Close()
	}
	c, err := session.Connect(ctx, progress)
	if err != nil {
		closeLog()
		if s.EngineLog != "" {
			err = fmt.Errorf("%w (engine log: %s)", err, s.EngineLog)
		}
		return nil, &kindError{err: err, kind: ErrEngine}
	}
	s.close = func() error { return errors.Join(c.Close(), closeLog()) }
	s.Pipeline = New(c, nil)
	if spec.Log != nil {
		s.Pipeline.Log = spec.Log
	}
	if s.Repo, err = s.Pipeline.LocalRepo(spec.Root); err != nil {
		s.Close()
		return nil, badInput(err)
	}
	return s, nil
}
