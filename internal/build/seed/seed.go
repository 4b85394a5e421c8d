// Package seed bootstraps a minimal Debian root filesystem in pure Go: enough of Debian
// (the Essential set plus mmdebstrap and its dependencies, unpacked without maintainer
// scripts) to run mmdebstrap inside a Dagger container.
//
// Why: builder images are made by mmdebstrap from a pinned suite, never pulled from a
// registry, and the pipelines must run where nothing but the Debian mirror is reachable,
// including inside a Dagger module, which cannot run tools on the caller's host. Every
// byte is verified: InRelease against the archive keyring, the Packages index against
// InRelease, each .deb against the index.
package seed

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/fetch"
)

// Options say which seed to build and where downloads are cached.
type Options struct {
	Mirror   string   // e.g. http://deb.debian.org/debian
	Suite    string   // e.g. bookworm
	Arch     string   // Debian architecture, e.g. amd64
	Packages []string // on top of the Essential set, e.g. mmdebstrap
	Keyring  string   // OpenPGP keyring that signs the suite's InRelease
	CacheDir string   // downloads are kept here under their sha256
	Epoch    time.Time
	Client   *http.Client // nil: http.DefaultClient
	Log      *slog.Logger // nil: discarded
}

// Build writes the seed root filesystem tarball to w and returns the packages in it.
func Build(ctx context.Context, o Options, w io.Writer) ([]*Package, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	f := fetcher{o: o}
	base := strings.TrimSuffix(o.Mirror, "/")
	inRelease, err := f.get(ctx, base+"/dists/"+o.Suite+"/InRelease")
	if err != nil {
		return nil, err
	}
	release, err := VerifyRelease(inRelease, o.Keyring)
	if err != nil {
		return nil, fmt.Errorf("%s/dists/%s/InRelease: %w", base, o.Suite, err)
	}
	indexPath := "main/binary-" + o.Arch + "/Packages.gz"
	sum, size, err := ReleaseSHA256(release, indexPath)
	if err != nil {
		return nil, err
	}
	gz, err := f.verified(ctx, base+"/dists/"+o.Suite+"/"+indexPath, sum, size)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndexFile(gz, indexPath)
	if err != nil {
		return nil, err
	}
	pkgs, err := idx.Resolve(o.Packages)
	if err != nil {
		return nil, fmt.Errorf("resolve the seed packages of %s/%s: %w", o.Suite, o.Arch, err)
	}
	o.Log.Info("seed: downloading packages", "count", len(pkgs), "suite", o.Suite, "arch", o.Arch)
	paths, err := f.all(ctx, base, pkgs)
	if err != nil {
		return nil, err
	}
	root := NewRootfs(w, o.Epoch)
	for i, p := range pkgs {
		if err := addDebFile(root, p.Name, paths[i]); err != nil {
			return nil, err
		}
	}
	if err := root.Finish(); err != nil {
		return nil, err
	}
	return pkgs, nil
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

func addDebFile(root *Rootfs, name, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return root.AddDeb(name, fh)
}

type fetcher struct{ o Options }

func (f fetcher) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w (is the Debian mirror reachable?)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// verified returns a cached file holding url's content with the given sha256,
// downloading it if needed. A file in the cache is named by its hash and only moved there
// after the hash matched, so a cached file is trusted as is.
func (f fetcher) verified(ctx context.Context, url, sum string, size int64) (string, error) {
	dir := filepath.Join(f.o.CacheDir, "sha256")
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
	err := fetch.Verified(ctx, fetch.Request{URL: url, SHA256: sum, Max: limit, Client: f.o.Client}, dst, 0o600)
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
		return fmt.Errorf("fetch %s: %w (is the Debian mirror reachable?)", url, fe.Err)
	case fetch.Mismatch:
		return fmt.Errorf("fetch %s: sha256 %s, the signed index says %s: the mirror served different bytes", url, fe.Got, fe.Want)
	}
	return err // "fetch <url>: <status or cause>", as this package has always said
}

// all downloads every package, a few at a time; paths follow pkgs' order.
func (f fetcher) all(ctx context.Context, base string, pkgs []*Package) ([]string, error) {
	paths := make([]string, len(pkgs))
	errs := make([]error, len(pkgs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, p := range pkgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			paths[i], errs[i] = f.verified(ctx, base+"/"+p.Filename, p.SHA256, p.Size)
		}()
	}
	wg.Wait()
	return paths, errors.Join(errs...)
}
