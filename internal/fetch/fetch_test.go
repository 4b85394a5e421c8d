package fetch

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// sha256 of "abc" (FIPS 180-2) and of "abd".
const (
	sumABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	sumABD = "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"
)

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abc":
			w.Write([]byte("abc"))
		case "/chunked": // no Content-Length: only the copy can tell it is too long
			w.Write([]byte("ab"))
			w.(http.Flusher).Flush()
			w.Write([]byte("cdef"))
		case "/short": // promises more than it sends, then hangs up
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("abc"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerified(t *testing.T) {
	srv := server(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name   string
		req    Request
		kind   Kind   // 0: success
		errMsg string // the whole message ("URL" stands for the request's URL); "" to skip
	}{
		{name: "right digest", req: Request{URL: srv.URL + "/abc", SHA256: sumABC, Max: 3}},
		{name: "digest in upper case", req: Request{URL: srv.URL + "/abc", SHA256: strings.ToUpper(sumABC), Max: 1 << 20}},
		{name: "wrong digest", req: Request{URL: srv.URL + "/abc", SHA256: sumABD, Max: 3}, kind: Mismatch,
			errMsg: "fetch URL: got sha256 " + sumABC + ", expected " + sumABD},
		{name: "oversize by Content-Length", req: Request{URL: srv.URL + "/abc", SHA256: sumABC, Max: 2}, kind: TooLarge,
			errMsg: "fetch URL: the response body is 3 bytes; the limit for this download is 2 bytes"},
		{name: "oversize while streaming", req: Request{URL: srv.URL + "/chunked", SHA256: sumABC, Max: 3}, kind: TooLarge,
			errMsg: "fetch URL: the response body is larger than 3 bytes, the limit for this download: it is not what it claims to be, or it is damaged"},
		{name: "not found", req: Request{URL: srv.URL + "/missing", SHA256: sumABC, Max: 3}, kind: Status,
			errMsg: "fetch URL: 404 Not Found"},
		{name: "body breaks off", req: Request{URL: srv.URL + "/short", SHA256: sumABC, Max: 100}, kind: Broken},
		{name: "nobody listening", req: Request{URL: closed.URL + "/abc", SHA256: sumABC, Max: 3}, kind: Unreachable},
		{name: "bad url", req: Request{URL: "http://[::1", SHA256: sumABC, Max: 3}, kind: BadURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "out")
			err := Verified(context.Background(), tc.req, dst, 0o640)
			if tc.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(dst)
				if err != nil || string(b) != "abc" {
					t.Fatalf("dst holds %q, %v", b, err)
				}
				if st, _ := os.Stat(dst); st.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, want 0640", st.Mode().Perm())
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Kind != tc.kind || fe.URL != tc.req.URL {
				t.Fatalf("error %v (%#v), want an *Error of kind %d for %s", err, err, tc.kind, tc.req.URL)
			}
			if want := strings.ReplaceAll(tc.errMsg, "URL", tc.req.URL); tc.errMsg != "" && err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
			if !strings.Contains(err.Error(), tc.req.URL) {
				t.Errorf("error %v does not name the URL", err)
			}
			switch tc.kind {
			case Mismatch:
				if fe.Want != sumABD || fe.Got != sumABC {
					t.Errorf("Want %s Got %s", fe.Want, fe.Got)
				}
			case TooLarge:
				var tl *boundedio.TooLargeError
				if !errors.As(err, &tl) || tl.Limit != tc.req.Max {
					t.Errorf("error %v is not a TooLargeError with limit %d", err, tc.req.Max)
				}
			case Status:
				if fe.Status != "404 Not Found" {
					t.Errorf("Status %q", fe.Status)
				}
			case BadURL, Unreachable, Broken:
				if fe.Err == nil || !errors.Is(err, fe.Err) {
					t.Errorf("no cause: %#v", fe)
				}
			}
			// Nothing is left behind: no dst, no temporary file.
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed download left %v", entries)
			}
		})
	}
}

// A failed download leaves what was at dst before.
func TestVerifiedKeepsOldFile(t *testing.T) {
	srv := server(t)
	dst := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Verified(context.Background(), Request{URL: srv.URL + "/abc", SHA256: sumABD, Max: 3}, dst, 0o644)
	if err == nil {
		t.Fatal("a wrong digest was accepted")
	}
	if b, _ := os.ReadFile(dst); string(b) != "old" {
		t.Errorf("dst now holds %q", b)
	}
}

func TestVerifiedLocalErrors(t *testing.T) {
	srv := server(t)
	req := Request{URL: srv.URL + "/abc", SHA256: sumABC, Max: 3}
	// No limit is a caller's bug, refused before any request.
	if err := Verified(context.Background(), Request{URL: req.URL, SHA256: sumABC}, filepath.Join(t.TempDir(), "x"), 0o644); err == nil || !strings.Contains(err.Error(), "no size limit") {
		t.Errorf("no limit: %v", err)
	}
	// A destination that cannot be written is safepath's error, naming dst.
	dst := filepath.Join(t.TempDir(), "no-such-dir", "out")
	err := Verified(context.Background(), req, dst, 0o644)
	var fe *Error
	if err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), dst) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unwritable dst: %v", err)
	}
}

// The client given is the one used.
func TestVerifiedClient(t *testing.T) {
	srv := server(t)
	calls := 0
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		calls++
		return http.DefaultTransport.RoundTrip(r)
	})}
	dst := filepath.Join(t.TempDir(), "out")
	if err := Verified(context.Background(), Request{URL: srv.URL + "/abc", SHA256: sumABC, Max: 3, Client: client}, dst, 0o644); err != nil || calls != 1 {
		t.Errorf("err %v, %d calls through the client", err, calls)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
