package repro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// diffoscope runs diffoscope on the pair behind art when it is on PATH and returns
// the path of its text report, or a note saying why there is none. diffoscope is an
// aid for people, never a requirement of the gate: its absence is a note, not an
// error.
func diffoscope(ctx context.Context, opts Options, art Artifact, dirA, dirB string) (string, string) {
	if art.Missing != "" {
		return "", ""
	}
	// Only a pair of regular files inside the trees goes to diffoscope: given a
	// symlink it would follow it and copy whatever it points to (/etc/shadow)
	// into a report that may be published.
	if art.SHA256A == "" || art.SHA256B == "" {
		return "", fmt.Sprintf("not run on %s: not a pair of regular files (links are compared by target, never followed)", art.Path)
	}
	bin, err := opts.LookPath("diffoscope")
	if err != nil {
		return "", "not on PATH (apt-get install diffoscope-minimal for a report of every difference)"
	}
	a, b := filepath.Join(dirA, filepath.FromSlash(art.Path)), filepath.Join(dirB, filepath.FromSlash(art.Path))
	if size := max(art.SizeA, art.SizeB); size > opts.DiffoscopeMaxBytes {
		return "", fmt.Sprintf("not run on %s: %d bytes is over the limit of %d (Options.DiffoscopeMaxBytes); run it by hand: diffoscope %s %s",
			art.Path, size, opts.DiffoscopeMaxBytes, a, b)
	}
	dir := opts.DiffoscopeDir
	if dir == "" {
		if dir, err = os.MkdirTemp(opts.TempDir, "repro-diffoscope-"); err != nil {
			return "", err.Error()
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err.Error()
	}
	out := filepath.Join(dir, "diffoscope-"+strings.ReplaceAll(art.Path, "/", "_")+".txt")
	ctx, cancel := context.WithTimeout(ctx, opts.DiffoscopeTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--text", out, "--no-progress", a, b)
	cmd.Stderr = &stderr
	err = cmd.Run()
	// Exit status 1 is diffoscope's "the files differ", the expected outcome.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		if ctx.Err() != nil {
			return "", fmt.Sprintf("stopped after %s (Options.DiffoscopeTimeout); partial report %s", opts.DiffoscopeTimeout, out)
		}
		return "", fmt.Sprintf("diffoscope failed: %v: %s", err, lastLine(stderr.String()))
	}
	return out, ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
