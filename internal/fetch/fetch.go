// Package fetch downloads files whose SHA-256 is known before the first byte
// arrives: a pin in toolchain.yaml, an image's agent.sha256, a line of a
// signed Debian index. The body is hashed as it is written, never grows past
// its limit, and lands at its destination only after it hashed to the pin, so
// a file found there later can be trusted as is.
//
// The errors are *Error, one Kind per way a download fails, so each caller can
// say in its own words what to do next (check the pin, go offline with a
// local copy, suspect the mirror).
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/safepath"
)

// Request is one download.
type Request struct {
	URL    string
	SHA256 string // the hex digest the body must have
	// Max is the most bytes the body may have. A body one byte longer fails
	// with TooLarge before anything is written; so does a larger Content-Length.
	Max    int64
	Client *http.Client // nil: http.DefaultClient
}

// Kind is how a download failed.
type Kind int

const (
	// BadURL: no request can be made from the URL.
	BadURL Kind = iota + 1
	// Unreachable: no response came (DNS, connection, TLS, a cancelled context).
	Unreachable
	// Status: the server answered something other than 200 OK.
	Status
	// Broken: the body broke off, or writing it failed.
	Broken
	// TooLarge: the body is longer than Request.Max.
	TooLarge
	// Mismatch: the body does not have the expected sha256.
	Mismatch
)

// Error is a download that failed. Failing to create, close or rename the
// destination is not an *Error: those are safepath.WriteFile's, naming dst.
type Error struct {
	Kind Kind
	URL  string
	// Err is the cause for BadURL, Unreachable, Broken and TooLarge (a
	// *boundedio.TooLargeError).
	Err error
	// Status is the response's status line for Status ("404 Not Found").
	Status string
	// Want and Got are the expected and received sha256 for Mismatch.
	Want, Got string
}

func (e *Error) Error() string {
	switch e.Kind {
	case Status:
		return fmt.Sprintf("fetch %s: %s", e.URL, e.Status)
	case Mismatch:
		return fmt.Sprintf("fetch %s: got sha256 %s, expected %s", e.URL, e.Got, e.Want)
	}
	return fmt.Sprintf("fetch %s: %v", e.URL, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Verified downloads r.URL to dst with mode perm. dst is written atomically
// (safepath.WriteFile): on any failure it is left as it was, and no partial
// file stays behind.
func Verified(ctx context.Context, r Request, dst string, perm fs.FileMode) error {
	if r.Max <= 0 {
		return fmt.Errorf("fetch %s: no size limit given (a bug: every download needs one)", r.URL)
	}
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return &Error{Kind: BadURL, URL: r.URL, Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Error{Kind: Unreachable, URL: r.URL, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Kind: Status, URL: r.URL, Status: resp.Status}
	}
	if resp.ContentLength > r.Max {
		return tooLarge(r, resp.ContentLength)
	}
	var failed *Error // the download's own failure, returned as is rather than as a write error
	werr := safepath.WriteFile(dst, perm, func(w io.Writer) error {
		failed = copyVerified(w, resp.Body, r)
		if failed != nil {
			return failed
		}
		return nil
	})
	if failed != nil {
		return failed
	}
	return werr
}

// copyVerified copies at most r.Max bytes of body to w and checks their sha256.
func copyVerified(w io.Writer, body io.Reader, r Request) *Error {
	h := sha256.New()
	// One byte past the limit, never more: a server streaming without end
	// must not fill the disk.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(body, r.Max+1))
	switch {
	case err != nil:
		// A full disk lands here too, as it always has: its error names the
		// temporary file and says what went wrong.
		return &Error{Kind: Broken, URL: r.URL, Err: err}
	case n > r.Max:
		return tooLarge(r, -1)
	}
	want := strings.ToLower(r.SHA256)
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &Error{Kind: Mismatch, URL: r.URL, Want: want, Got: got}
	}
	return nil
}

func tooLarge(r Request, size int64) *Error {
	return &Error{Kind: TooLarge, URL: r.URL, Err: &boundedio.TooLargeError{
		Name: "the response body", What: "this download", Size: size, Limit: r.Max}}
}
