package report

// A minimal Chrome DevTools Protocol client for the browser test: start
// Debian's chromium headless, attach to its page over the DevTools websocket
// and send commands. It is enough for navigate, evaluate, click, type and
// screenshot, and needs nothing beyond golang.org/x/net/websocket (no npm,
// no browser download).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// chromiumFlags are the ones this project's machines need: no sandbox (root
// in a container), no GPU, and no background traffic to Google services.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
}

// devtoolsOrigin is the Origin our websocket sends; Chromium only accepts
// DevTools connections from origins it was told to allow.
const devtoolsOrigin = "http://127.0.0.1"

type browser struct {
	port   int
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// chromiumTempDir is a TMPDIR for chromium, removed when the test ends. Chromium
// binds its singleton socket at $TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket
// and dies ("Socket path too long") when that passes a unix socket's 107 bytes.
// t.TempDir, under the suite's own TMPDIR (hack/test.sh), is nested too deep for
// that, so this is one short level under $TMPDIR.
func chromiumTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	const socketTail = "/org.chromium.Chromium.XXXXXX/SingletonSocket"
	if n := len(dir) + len(socketTail); n > maxUnixSocketPath {
		t.Fatalf("chromium's singleton socket would be %d bytes under TMPDIR=%s, over a unix socket's %d: run the test with a shorter TMPDIR", n, os.TempDir(), maxUnixSocketPath)
	}
	return dir
}

// maxUnixSocketPath is sun_path's 108 bytes less the terminating NUL.
const maxUnixSocketPath = 107

// startChromium runs exe with a fresh profile and a DevTools port chosen by
// the browser, and stops it when the test ends.
func startChromium(t *testing.T, ctx context.Context, exe string) *browser {
	t.Helper()
	profile := t.TempDir()
	args := append([]string{}, chromiumFlags...)
	args = append(args,
		"--user-data-dir="+profile,
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--remote-allow-origins="+devtoolsOrigin,
		"--window-size=1400,1000", "about:blank")
	cmd := exec.Command(exe, args...)
	b := &browser{stderr: &lockedBuffer{}}
	cmd.Stderr = b.stderr
	// No session bus here: tell chromium not to look for one (saves seconds of timeouts).
	// Chromium keeps shared-memory files (org.chromium.Chromium.*) in $TMPDIR and,
	// killed at the end of the test, never removes them: give it a TMPDIR of this test's.
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:", "TMPDIR="+chromiumTempDir(t))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	// Chromium writes the port it picked to DevToolsActivePort in the profile.
	portFile := filepath.Join(profile, "DevToolsActivePort")
	for {
		if data, err := os.ReadFile(portFile); err == nil {
			if line, _, _ := strings.Cut(string(data), "\n"); line != "" {
				if p, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && p > 0 {
					b.port = p
					return b
				}
			}
		}
		select {
		case <-done:
			t.Fatalf("chromium exited before opening DevTools:\n%s", b.stderr)
		case <-ctx.Done():
			t.Fatalf("chromium did not open DevTools in time:\n%s", b.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// page attaches to the browser's first page target.
func (b *browser) page(t *testing.T, ctx context.Context) *cdp {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/json/list", b.port), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("list DevTools targets: %v", err)
	}
	defer resp.Body.Close()
	var targets []struct {
		Type, URL            string
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatalf("decode DevTools targets: %v", err)
	}
	for _, tg := range targets {
		if tg.Type != "page" {
			continue
		}
		cfg, err := websocket.NewConfig(tg.WebSocketDebuggerURL, devtoolsOrigin)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Dialer = &net.Dialer{Timeout: 10 * time.Second}
		ws, err := websocket.DialConfig(cfg)
		if err != nil {
			t.Fatalf("connect to DevTools page %s: %v\n%s", tg.WebSocketDebuggerURL, err, b.stderr)
		}
		t.Cleanup(func() { ws.Close() })
		if dl, ok := ctx.Deadline(); ok {
			_ = ws.SetDeadline(dl)
		}
		return &cdp{t: t, ws: ws}
	}
	t.Fatalf("no page target among %+v", targets)
	return nil
}

// cdp is one DevTools session. Calls are synchronous: send, then read
// messages until the reply with our id; events in between are kept.
type cdp struct {
	t      *testing.T
	ws     *websocket.Conn
	nextID int
	// Errors are exceptions and console.error calls the page raised.
	Errors []string
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends method with params and decodes the result into out (if non-nil).
func (c *cdp) call(method string, params any, out any) {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(c.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		c.t.Fatalf("send %s: %v", method, err)
	}
	for {
		var m cdpMessage
		if err := websocket.JSON.Receive(c.ws, &m); err != nil {
			c.t.Fatalf("waiting for the reply to %s: %v", method, err)
		}
		if m.ID == 0 {
			c.event(m)
			continue
		}
		if m.ID != id {
			continue
		}
		if m.Error != nil {
			c.t.Fatalf("%s: DevTools error %d: %s", method, m.Error.Code, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				c.t.Fatalf("%s: decode result: %v", method, err)
			}
		}
		return
	}
}

func (c *cdp) event(m cdpMessage) {
	switch m.Method {
	case "Runtime.exceptionThrown":
		c.Errors = append(c.Errors, "exception: "+string(m.Params))
	case "Runtime.consoleAPICalled":
		var p struct{ Type string }
		if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
			c.Errors = append(c.Errors, "console."+p.Type+": "+string(m.Params))
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Text, URL string }
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
			c.Errors = append(c.Errors, "log: "+p.Entry.Text+" "+p.Entry.URL)
		}
	}
}

// eval runs a JavaScript expression in the page and decodes its value
// (returned by value, so arrays and objects come back as JSON).
func (c *cdp) eval(expr string, out any) {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.ExceptionDetails != nil {
		c.t.Fatalf("evaluate %q: %s %s", expr, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			c.t.Fatalf("evaluate %q: decode %s: %v", expr, res.Result.Value, err)
		}
	}
}

// waitFor polls a boolean expression until it is true or the deadline passes.
func (c *cdp) waitFor(ctx context.Context, expr string) {
	c.t.Helper()
	for {
		var ok bool
		c.eval("Boolean("+expr+")", &ok)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("timed out waiting for %s", expr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// click presses and releases the left mouse button in the middle of the
// element selector matches, as a user would: the browser does the hit test,
// so an element covered or off screen is not clicked.
func (c *cdp) click(selector string) {
	c.t.Helper()
	var pt struct{ X, Y float64 }
	sel, _ := json.Marshal(selector)
	c.eval(`(() => { const e = document.querySelector(`+string(sel)+`);
		e.scrollIntoView({block: "center", inline: "center"});
		const r = e.getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()`, &pt)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		c.call("Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1,
		}, nil)
	}
}

// typeText sends text to the focused element as keyboard input, one
// character at a time, so input events fire as they do for a user.
func (c *cdp) typeText(text string) {
	c.t.Helper()
	for _, r := range text {
		s := string(r)
		c.call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "text": s, "unmodifiedText": s, "key": s}, nil)
		c.call("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": s}, nil)
	}
}
