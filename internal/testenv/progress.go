package testenv

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ProgressLogDir is where engine progress of test runs is kept, outside the clone so a
// failed CI run can be inspected on the machine afterwards.
const ProgressLogDir = "/var/cache/guestforge/logs/tests"

// ProgressLog returns a writer for a Dagger engine's progress output. The Dagger TUI
// prints thousands of lines per kernel build; in the test log they bury the one line
// that says why a test failed. So the whole stream goes to
// ProgressLogDir/<test>.log (a temporary file where that is not writable), and only
// when the test fails are its last tailLines lines and the file's path logged.
func ProgressLog(t testing.TB, tailLines int) io.Writer {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".log"
	f, err := createLog(filepath.Join(ProgressLogDir, name))
	if err != nil {
		f, err = createLog(filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatalf("progress log: %v", err)
		}
	}
	w := &progressWriter{f: f}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		f.Close()
		if t.Failed() {
			data, _ := os.ReadFile(f.Name())
			t.Logf("engine progress, last %d lines (all of it: %s):\n%s", tailLines, f.Name(), lastLines(data, tailLines))
		}
	})
	return w
}

func createLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}

type progressWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("progress log %s: %w", w.f.Name(), err)
	}
	return n, nil
}

func lastLines(data []byte, n int) []byte {
	data = bytes.TrimRight(data, "\n")
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == '\n' {
			n--
			if n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}
