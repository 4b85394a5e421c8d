package build

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The words of a failed kernel archive or agent download: each says what to do
// next, and the move to internal/fetch kept them as they were.
func TestDownloadErrors(t *testing.T) {
	body := []byte("pinned bytes")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write(body)
		case "/huge": // claims more than any archive or agent may be
			w.Header().Set("Content-Length", "5000000000")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	wrong := strings.Repeat("0", 64)
	right := sum(body)

	const agentYAML = "name: test\nagent:\n  url: URL\n  sha256: SUM\n"
	tests := []struct {
		name, url, sha256 string
		archive, agent    string // the whole message ("URL" is the url); "" for success
	}{
		{name: "ok", url: srv.URL + "/ok", sha256: right},
		{name: "mismatch", url: srv.URL + "/ok", sha256: wrong,
			archive: "kernel archive from URL has sha256 " + right + ", but toolchain.yaml pins " + wrong + ": refusing to build from it (fix the pin if the new archive is intended, else fetch the pinned one)",
			agent:   "image test: the agent at URL has sha256 " + right + ", but images/test.yaml:4 pins " + wrong + ": refusing to install it (fix the pin if the new agent is intended)"},
		{name: "not found", url: srv.URL + "/gone", sha256: right,
			archive: "download kernel archive from URL: 404 Not Found",
			agent:   "image test: download the agent from URL: 404 Not Found (images/test.yaml:3)"},
		{name: "too large", url: srv.URL + "/huge", sha256: right,
			archive: "download kernel archive from URL: the response body is 4.7 GiB; the limit for this download is 4 GiB",
			agent:   "image test: download the agent from URL: the response body is 4.7 GiB; the limit for this download is 1 GiB"},
		{name: "unreachable", url: down.URL + "/ok", sha256: right,
			archive: "download kernel archive from URL: Get \"URL\": dial tcp ",
			agent:   "image test: download the agent from URL: Get \"URL\": dial tcp "},
		{name: "bad url", url: "http://[::1", sha256: right,
			archive: "kernel archive url \"URL\": parse \"URL\": missing ']' in host",
			agent:   "image test: agent.url \"URL\": parse \"URL\": missing ']' in host"},
	}
	check := func(t *testing.T, what, url, want, got string, err error) {
		t.Helper()
		want = strings.ReplaceAll(want, "URL", url)
		switch {
		case want == "" && err != nil:
			t.Fatalf("%s: %v", what, err)
		case want == "":
			if b, _ := os.ReadFile(got); string(b) != string(body) {
				t.Errorf("%s: %s holds %q", what, got, b)
			}
		case err == nil:
			t.Fatalf("%s: no error, want %s", what, want)
		case strings.HasSuffix(want, " ") && !strings.HasPrefix(err.Error(), want), // a prefix: the rest is the OS's
			!strings.HasSuffix(want, " ") && err.Error() != want:
			t.Errorf("%s:\n got %s\nwant %s", what, err, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPipeline(t)
			got, err := p.verifiedArchive(context.Background(), "kernel archive", tc.url, tc.sha256, "")
			check(t, "archive", tc.url, tc.archive, got, err)
			text := strings.NewReplacer("URL", tc.url, "SUM", tc.sha256).Replace(agentYAML)
			d := &imageDef{Image: testImageDef(t).Image, File: "images/test.yaml", text: []byte(text)}
			got, err = p.downloadAgent(context.Background(), d, tc.url, tc.sha256)
			check(t, "agent", tc.url, tc.agent, got, err)
			// A failed download leaves nothing in the cache, not even a temporary file.
			if tc.archive != "" {
				for _, dir := range []string{"src", "agents"} {
					if entries, _ := os.ReadDir(filepath.Join(p.CacheDir, dir)); len(entries) != 0 {
						t.Errorf("%s/ holds %v after a failed download", dir, entries)
					}
				}
			}
		})
	}
}
