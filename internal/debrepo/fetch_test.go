package debrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The words of a failed download from the mirror, as the move to internal/fetch
// kept them, and the size the signed index states as the download's bound.
func TestVerifiedErrors(t *testing.T) {
	body := []byte("a .deb stand-in")
	h := sha256.Sum256(body)
	right, wrong := hex.EncodeToString(h[:]), strings.Repeat("0", 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pool/x.deb" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	n := int64(len(body))
	tests := []struct {
		name, url, sum string
		size           int64
		want           string // the whole message, or its start when it ends in a space; "" for success
	}{
		{name: "ok", url: srv.URL + "/pool/x.deb", sum: right, size: n},
		{name: "no size in the index", url: srv.URL + "/pool/x.deb", sum: right},
		{name: "mismatch", url: srv.URL + "/pool/x.deb", sum: wrong, size: n,
			want: "fetch URL: sha256 " + right + ", the signed index says " + wrong + ": the mirror served different bytes"},
		{name: "longer than the index says", url: srv.URL + "/pool/x.deb", sum: right, size: n - 1,
			want: "fetch URL: the response body is 15 bytes; the limit for this download is 14 bytes"},
		{name: "not found", url: srv.URL + "/pool/gone.deb", sum: right, size: n,
			want: "fetch URL: 404 Not Found"},
		{name: "unreachable", url: down.URL + "/pool/x.deb", sum: right, size: n,
			want: "fetch URL: Get \"URL\": dial tcp "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			m := Mirror{CacheDir: cache, Client: http.DefaultClient}
			got, err := m.Fetch(context.Background(), tc.url, tc.sum, tc.size)
			want := strings.ReplaceAll(tc.want, "URL", tc.url)
			switch {
			case want == "":
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(got); string(b) != string(body) || got != filepath.Join(cache, "sha256", right) {
					t.Errorf("%s holds %q", got, b)
				}
				return
			case err == nil:
				t.Fatalf("no error, want %s", want)
			case strings.HasSuffix(want, " ") && !strings.HasPrefix(err.Error(), want),
				!strings.HasSuffix(want, " ") && err.Error() != want:
				t.Errorf("\n got %s\nwant %s", err, want)
			}
			if entries, _ := os.ReadDir(filepath.Join(cache, "sha256")); len(entries) != 0 {
				t.Errorf("a failed download left %v in the cache", entries)
			}
		})
	}
}
