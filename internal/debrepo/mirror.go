package debrepo

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/fetch"
	"github.com/guestforge/guestforge/internal/policy"
)

// Mirror is a Debian archive read the way apt reads it: InRelease verified against the
// archive keyring, each Packages index against InRelease, each .deb against the index.
type Mirror struct {
	URL      string // e.g. http://deb.debian.org/debian
	Keyring  string // the OpenPGP keyring that signs the suites' InRelease
	CacheDir string // downloads are kept here under sha256/<their sha256>
	Client   *http.Client
}

// Suite is what a suite's signed index says for one architecture.
type Suite struct {
	Name, Arch string
	// Date is the Date field of the InRelease the index was verified against: the
	// moment of the archive a lock records.
	Date  time.Time
	Index *Index
	// Origin says where it was read (a URL or a snapshot path), for messages.
	Origin string
}

// Source hands out a suite's index: the live Mirror (verified) or a Snapshot.
type Source interface {
	Suite(ctx context.Context, suite, arch string) (*Suite, error)
}

// maxInReleaseBytes bounds InRelease: bookworm's lists every index of every
// architecture with three hashes in about 150 KiB.
const maxInReleaseBytes = 8 * boundedio.MiB

// Suite fetches and verifies dists/<suite>/InRelease and the main Packages index of
// arch it lists.
func (m Mirror) Suite(ctx context.Context, suite, arch string) (*Suite, error) {
	base := strings.TrimSuffix(m.URL, "/")
	u := base + "/dists/" + suite + "/InRelease"
	inRelease, err := m.get(ctx, u, maxInReleaseBytes)
	if err != nil {
		return nil, err
	}
	text, err := VerifyRelease(inRelease, m.Keyring)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	head, err := policy.ParseDebianRelease(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	indexPath := "main/binary-" + arch + "/Packages.gz"
	sum, size, err := ReleaseSHA256(text, indexPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	gz, err := m.Fetch(ctx, base+"/dists/"+suite+"/"+indexPath, sum, size)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndexFile(gz, base+"/dists/"+suite+"/"+indexPath)
	if err != nil {
		return nil, err
	}
	return &Suite{Name: suite, Arch: arch, Date: head.Date, Index: idx, Origin: u}, nil
}

func parseIndexFile(path, name string) (*Index, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ParseIndex(name, zr)
}

func (m Mirror) client() *http.Client {
	if m.Client == nil {
		return http.DefaultClient
	}
	return m.Client
}

func (m Mirror) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w (is the Debian mirror reachable?)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	return boundedio.ReadAllLimit(resp.Body, limit, url, "a Debian InRelease file")
}

// Fetch returns a cached file holding url's content with the given sha256,
// downloading it if needed. A file in the cache is named by its hash and only moved there
// after the hash matched, so a cached file is trusted as is.
func (m Mirror) Fetch(ctx context.Context, url, sum string, size int64) (string, error) {
	dir := filepath.Join(m.CacheDir, "sha256")
	dst := filepath.Join(dir, sum)
	if st, err := os.Stat(dst); err == nil && (size == 0 || st.Size() == size) {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create download cache: %w", err)
	}
	// The signed index states the size; a body longer than that is not the file.
	limit := size
	if limit <= 0 {
		limit = maxUnsized
	}
	// 0600: the cache is the user's own, as it has always been.
	err := fetch.Verified(ctx, fetch.Request{URL: url, SHA256: sum, Max: limit, Client: m.client()}, dst, 0o600)
	if err != nil {
		return "", mirrorError(url, err)
	}
	return dst, nil
}

// maxUnsized bounds a download the signed index gives no size for.
const maxUnsized = 1 * boundedio.GiB

// mirrorError words a failed download from the Debian mirror.
func mirrorError(url string, err error) error {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Kind {
	case fetch.BadURL:
		return fe.Err
	case fetch.Unreachable:
		return &worded{fmt.Sprintf("fetch %s: %v (is the Debian mirror reachable?)", url, fe.Err), fe}
	case fetch.Mismatch:
		return &worded{fmt.Sprintf("fetch %s: sha256 %s, the signed index says %s: the mirror served different bytes", url, fe.Got, fe.Want), fe}
	}
	return err // "fetch <url>: <status or cause>", as this package has always said
}

// worded is a *fetch.Error in this package's words; errors.As still finds the
// *fetch.Error, so callers can tell a missing file from other bytes.
type worded struct {
	msg string
	err *fetch.Error
}

func (w *worded) Error() string { return w.msg }
func (w *worded) Unwrap() error { return w.err }

// Want is one file to download from the pool: where it is and what it must hash to.
type Want struct {
	Filename string // relative to the mirror root, e.g. pool/main/a/apt/apt_2.6.1_amd64.deb
	SHA256   string
	Size     int64
}

// FetchAll downloads every file, a few at a time; paths follow wants' order. errs
// holds one error per failed file (nil where it succeeded), so a caller can say which
// package each belongs to.
func (m Mirror) FetchAll(ctx context.Context, wants []Want) (paths []string, errs []error) {
	base := strings.TrimSuffix(m.URL, "/")
	paths = make([]string, len(wants))
	errs = make([]error, len(wants))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, w := range wants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			paths[i], errs[i] = m.Fetch(ctx, base+"/"+w.Filename, w.SHA256, w.Size)
		}()
	}
	wg.Wait()
	return paths, errs
}
