package policy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A feed with nothing stable in it (only release candidates, or every
// release dated after --as-of) is an error: passing the pin would let an
// emptied feed wave any version through.
func TestFeedWithoutStableReleaseIsAnError(t *testing.T) {
	onlyRC, err := ParseGoReleases([]byte(`[{"version": "go1.27rc1", "stable": false, "files": []}]`))
	if err != nil {
		t.Fatal(err)
	}
	f := snapshot(t)
	f.Go = onlyRC
	_, err = Check(defaults().manifest(t), nil, f, day("2026-11-22"))
	want := "toolchain.yaml:7: go: the go feed (go.dev/dl JSON) lists no stable release, so N-2 cannot be checked: it is truncated or not the upstream feed; refresh it (release policy snapshot --out DIR) and check again"
	if err == nil || err.Error() != want {
		t.Fatalf("go:\ngot  %v\nwant %s", err, want)
	}
	f = snapshot(t)
	_, err = Check(defaults().manifest(t), nil, f, day("2000-01-01")) // before every Rust release
	want = "toolchain.yaml:8: rust: the rust feed (RELEASES.md) lists no stable release dated on or before 2000-01-01, so N-2 cannot be checked: it is truncated or not the upstream feed; refresh it (release policy snapshot --out DIR) and check again"
	if err == nil || err.Error() != want {
		t.Fatalf("rust:\ngot  %v\nwant %s", err, want)
	}
}

// --feeds files are bounded and special files refused before reading.
func TestDirSourceRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, GoFeedFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := syscall.Mkfifo(filepath.Join(dir, RustFeedFile), 0o644); err != nil {
		t.Fatal(err)
	}
	src := DirSource{Dir: dir}
	_, _, err = src.Fetch(context.Background(), GoFeedFile)
	if want := filepath.Join(dir, GoFeedFile) + " is 300 MiB; the limit for an upstream feed is 64 MiB"; err == nil || err.Error() != want {
		t.Errorf("oversize:\ngot  %v\nwant %s", err, want)
	}
	_, _, err = src.Fetch(context.Background(), RustFeedFile)
	if want := filepath.Join(dir, RustFeedFile) + " is a FIFO, not a regular file: pass the file itself"; err == nil || err.Error() != want {
		t.Errorf("fifo:\ngot  %v\nwant %s", err, want)
	}
}

// A live feed that never ends is cut at the limit, named by URL.
func TestLiveSourceBoundsTheBody(t *testing.T) {
	zero := make([]byte, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 65 { // one MiB over the limit
			if _, err := w.Write(zero); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	src := LiveSource{Client: &http.Client{Timeout: 30 * time.Second}, GoProxy: srv.URL}
	_, _, err := src.Fetch(context.Background(), "modules/example.com/x/@v/list")
	want := srv.URL + "/example.com/x/@v/list is larger than 64 MiB, the limit for an upstream feed: it is not what it claims to be, or it is damaged"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// A go.mod with many problems reports twenty and a count.
func TestCheckErrorListIsCapped(t *testing.T) {
	var deps []Dependency
	for i := range 30 {
		deps = append(deps, Dependency{Path: fmt.Sprintf("example.com/m%02d", i), Version: "v1.0.0", File: "go.mod", Line: 3 + i})
	}
	_, err := Check(defaults().manifest(t), deps, snapshot(t), day("2026-11-22"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 || lines[0] != "go.mod:3: example.com/m00 needs its module version list, which was not loaded" || lines[20] != "and 10 more" {
		t.Fatalf("%d lines:\n%s", len(lines), err)
	}
}
