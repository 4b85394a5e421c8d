package policy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// toServer sends every request to a local test server, keeping the path,
// so LiveSource's real upstream URLs are exercised without the network.
type toServer struct{ base *url.URL }

func (s toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = s.base.Scheme, s.base.Host
	r2.Header.Set("X-Original-Host", r.URL.Host)
	return http.DefaultTransport.RoundTrip(r2)
}

// upstream serves the snapshot the way the real hosts lay it out.
func upstream(t *testing.T, delay time.Duration, missing string) (*httptest.Server, *http.Client) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(snapshotDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		host := r.Header.Get("X-Original-Host")
		var body []byte
		switch {
		case host == "go.dev" && r.URL.Path == "/dl/" && r.URL.Query().Get("mode") == "json" && r.URL.Query().Get("include") == "all":
			body = read(GoFeedFile)
		case host == "raw.githubusercontent.com" && r.URL.Path == "/rust-lang/rust/master/RELEASES.md":
			body = read(RustFeedFile)
		case host == "www.kernel.org" && r.URL.Path == "/releases.json":
			body = read(KernelFeedFile)
		case strings.HasSuffix(r.URL.Path, "/@v/list"):
			body = read("modules" + r.URL.Path)
		case strings.HasPrefix(r.URL.Path, "/debian/dists/") && strings.HasSuffix(r.URL.Path, "/Release"):
			body = read(strings.TrimPrefix(r.URL.Path, "/"))
		}
		if body == nil || strings.Contains(r.URL.String(), missing) && missing != "" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	return srv, &http.Client{Timeout: 5 * time.Second, Transport: toServer{base}}
}

func TestLiveSource(t *testing.T) {
	srv, client := upstream(t, 0, "")
	src := LiveSource{Client: client, GoProxy: srv.URL}
	need := Need{Go: true, Rust: true, Kernel: true, Modules: []string{"github.com/Masterminds/semver/v3"}}
	f, err := LoadFeeds(context.Background(), src, need)
	if err != nil {
		t.Fatal(err)
	}
	if f.Origin[GoFeedFile] != GoFeedURL || f.Origin[KernelFeedFile] != KernelFeedURL ||
		f.Origin["modules/github.com/!masterminds/semver/v3/@v/list"] != srv.URL+"/github.com/!masterminds/semver/v3/@v/list" {
		t.Errorf("origins %v", f.Origin)
	}
	if len(f.Go) == 0 || len(f.Rust) == 0 || len(f.Kernel) == 0 || len(f.Modules["github.com/Masterminds/semver/v3"]) == 0 {
		t.Errorf("feeds not loaded: %+v", f)
	}

	dir := t.TempDir()
	files, err := Snapshot(context.Background(), src, need, dir)
	if err != nil || len(files) != 4 {
		t.Fatalf("snapshot wrote %v: %v", files, err)
	}
	if _, err := LoadFeeds(context.Background(), DirSource{Dir: dir}, need); err != nil {
		t.Errorf("a fresh snapshot does not load: %v", err)
	}
}

func TestLiveSourceFailures(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		_, client := upstream(t, 0, "releases.json")
		_, err := LoadFeeds(context.Background(), LiveSource{Client: client}, Need{Go: true, Kernel: true})
		if err == nil || !errors.Is(err, ErrFeedUnavailable) ||
			err.Error() != "kernel feed: https://www.kernel.org/releases.json answered 404 Not Found" {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		_, client := upstream(t, 3*time.Second, "")
		client.Timeout = 100 * time.Millisecond
		start := time.Now()
		_, err := LoadFeeds(context.Background(), LiveSource{Client: client}, Need{Go: true, Rust: true})
		if err == nil || !strings.Contains(err.Error(), "go feed: cannot reach https://go.dev/dl/?mode=json&include=all") ||
			!strings.Contains(err.Error(), "rust feed: cannot reach "+RustFeedURL) ||
			// net/http words a Client.Timeout either way, depending on which goroutine sees it first.
			!(strings.Contains(err.Error(), "Client.Timeout exceeded") || strings.Contains(err.Error(), "context deadline exceeded")) {
			t.Errorf("error = %v", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("the timeout did not cut the fetch short: %s", time.Since(start))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>captive portal</html>")) }))
		defer srv.Close()
		base, _ := url.Parse(srv.URL)
		_, err := LoadFeeds(context.Background(), LiveSource{Client: &http.Client{Transport: toServer{base}}}, Need{Go: true})
		if err == nil || !strings.HasPrefix(err.Error(), GoFeedURL+": malformed go feed: not the go.dev/dl JSON list") {
			t.Errorf("error = %v", err)
		}
	})
}

// The Debian feed comes from the manifest's mirror, the archive the builds
// install from, unless the source names one of its own.
func TestLiveSourceReadsTheManifestsMirror(t *testing.T) {
	_, client := upstream(t, 0, "")
	need := Need{Debian: true, DebianMirror: "http://mirror.example/debian/"}
	f, err := LoadFeeds(context.Background(), LiveSource{Client: client}, need)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Debian {
		got = append(got, r.Suite+"="+r.Codename)
	}
	if strings.Join(got, " ") != "stable=trixie oldstable=bookworm oldoldstable=bullseye" ||
		f.Origin[DebianReleaseFile("oldstable")] != "http://mirror.example/debian/dists/oldstable/Release" {
		t.Errorf("releases %v, origins %v", got, f.Origin)
	}
	f, err = LoadFeeds(context.Background(), LiveSource{Client: client, DebianMirror: "http://own.example/debian"}, need)
	if err != nil || f.Origin[DebianReleaseFile("stable")] != "http://own.example/debian/dists/stable/Release" {
		t.Errorf("a source's own mirror: %v %v", f.Origin, err)
	}
	_, client = upstream(t, 0, "oldoldstable")
	_, err = LoadFeeds(context.Background(), LiveSource{Client: client}, Need{Debian: true})
	if want := "debian oldoldstable feed: " + DefaultDebianMirror + "/dists/oldoldstable/Release answered 404 Not Found"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
