package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func testPipeline(t *testing.T) *Pipeline {
	return &Pipeline{CacheDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestVerifiedArchiveOverride(t *testing.T) {
	p := testPipeline(t)
	body := []byte("linux-source tarball stand-in")
	local := filepath.Join(t.TempDir(), "linux.tar.xz")
	if err := os.WriteFile(local, body, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := p.verifiedArchive(context.Background(), "kernel archive", "http://unused.invalid/x", sum(body), local)
	if err != nil || got != local {
		t.Fatalf("matching override: %q, %v", got, err)
	}
	wrong := strings.Repeat("0", 64)
	_, err = p.verifiedArchive(context.Background(), "kernel archive", "http://unused.invalid/x", wrong, local)
	var mm *SHA256Mismatch
	if !errors.As(err, &mm) {
		t.Fatalf("want *SHA256Mismatch, got %v", err)
	}
	for _, part := range []string{sum(body), wrong, local} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
}

func TestVerifiedArchiveDownloadsOnceAndRefusesOtherBytes(t *testing.T) {
	body := []byte("pinned archive bytes")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(body)
	}))
	defer srv.Close()
	p := testPipeline(t)
	for range 2 {
		got, err := p.verifiedArchive(context.Background(), "kernel archive", srv.URL+"/linux.deb", sum(body), "")
		if err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(got); string(data) != string(body) {
			t.Fatalf("cached file holds %q", data)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("downloaded %d times, want once (the second call must hit the cache)", hits.Load())
	}
	wrong := strings.Repeat("f", 64)
	_, err := p.verifiedArchive(context.Background(), "kernel archive", srv.URL+"/linux.deb", wrong, "")
	if err == nil || !strings.Contains(err.Error(), sum(body)) || !strings.Contains(err.Error(), wrong) {
		t.Fatalf("want a mismatch naming both digests, got %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(p.CacheDir, "src"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), wrong) || strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("a refused download stayed in the cache: %s", e.Name())
		}
	}
}
