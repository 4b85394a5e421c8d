// Package releasetest runs the real outside tools the release packages are
// tested against: a distribution registry on 127.0.0.1 (started and stopped
// by the test) and the pinned cosign CLI, both installed by hack/tools.sh.
// Missing tools skip locally and fail in CI (internal/testenv).
package releasetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/testenv"
)

// ToolsDir is where hack/tools.sh installs pinned Go tools.
const ToolsDir = "/var/cache/guestforge/bin"

// Tool finds a tool on PATH or in ToolsDir (go test does not put it on PATH).
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(ToolsDir, name)
	if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
		return p
	}
	testenv.Unavailable(t, "%s is neither on PATH nor in %s (run hack/tools.sh)", name, ToolsDir)
	return ""
}

// Registry is a running distribution registry.
type Registry struct {
	// Host is 127.0.0.1:<port>.
	Host string
	// Log is the registry's own log file, Data its storage directory.
	Log, Data string
}

// StartRegistry runs `registry serve` with filesystem storage in a temporary
// directory, waits until /v2/ answers, and stops it when the test ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := Tool(t, "registry")
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "registry.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start registry: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // kills the process the test started, and only it
		<-done
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("registry log (last 4 KiB):\n%s", tail(b, 4096))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &Registry{Host: host, Log: logPath, Data: filepath.Join(dir, "data")}
			}
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("registry exited: %v\n%s", err, tail(b, 4096))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("registry did not answer on %s within 60s:\n%s", host, tail(b, 4096))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
