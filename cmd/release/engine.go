package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/build/session"
)

// engineSession opens the Dagger session of a long command with the engine's progress
// (thousands of lines per kernel build) written to dir/build.EngineLogName, and to
// stderr too when verbose. done ends the session and closes the log. A log that cannot
// be created is bad input (a wrong --out), an engine that cannot be reached is not.
//
// Only `release repro` still opens its session here. It is build.Open (what `release
// build` and `release cut` use) with a *dagger.Client in cmd/: once repro.go calls
// build.Open, this file goes, and with it cmd/release's one import of Dagger.
func engineSession(ctx context.Context, dir string, verbose bool, stderr io.Writer) (c *dagger.Client, done func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, badInput(err)
	}
	engineLog, err := os.Create(filepath.Join(dir, build.EngineLogName))
	if err != nil {
		return nil, nil, badInput(err)
	}
	var progress io.Writer = engineLog
	if verbose {
		progress = io.MultiWriter(engineLog, stderr)
	}
	c, err = session.Connect(ctx, progress)
	if err != nil {
		engineLog.Close()
		return nil, nil, fmt.Errorf("%w (engine log: %s)", err, engineLog.Name())
	}
	return c, func() { c.Close(); engineLog.Close() }, nil
}
