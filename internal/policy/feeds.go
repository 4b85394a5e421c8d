package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"golang.org/x/mod/module"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/manifest"
)

// Names of the feed documents in a feeds directory. Each is the upstream
// document byte for byte, so a snapshot is refreshed by downloading again.
const (
	GoFeedFile     = "go.json"          // https://go.dev/dl/?mode=json&include=all
	RustFeedFile   = "rust-releases.md" // rust-lang/rust RELEASES.md (master)
	KernelFeedFile = "releases.json"    // https://www.kernel.org/releases.json
)

// Upstream locations of the feeds, fetched when no feeds directory is given.
const (
	GoFeedURL     = "https://go.dev/dl/?mode=json&include=all"
	RustFeedURL   = "https://raw.githubusercontent.com/rust-lang/rust/master/RELEASES.md"
	KernelFeedURL = "https://www.kernel.org/releases.json"
	// DefaultGoProxy serves module version lists at <proxy>/<escaped path>/@v/list.
	DefaultGoProxy = "https://proxy.golang.org"
)

// Feeds is the upstream release data a check runs against. A nil field
// means that feed was not loaded.
type Feeds struct {
	Go      []GoRelease
	Rust    []RustRelease
	Kernel  []KernelRelease
	Modules map[string][]*semver.Version
	// Origin says where each document came from (file or URL), by feed
	// file name, so reports and errors can point at it.
	Origin map[string]string
}

// Need lists the feeds a manifest and its dependencies are checked against.
type Need struct {
	Go, Rust, Kernel bool
	Modules          []string
}

// NeedsFor derives the feeds to load from the pins' feed: names and the
// go.mod dependencies.
func NeedsFor(m *manifest.Toolchain, deps []Dependency) Need {
	var n Need
	for _, p := range m.Toolchains {
		switch p.Feed {
		case manifest.FeedGo:
			n.Go = true
		case manifest.FeedRust:
			n.Rust = true
		}
	}
	n.Kernel = m.Kernel.Feed == manifest.FeedKernel
	for _, d := range deps {
		n.Modules = append(n.Modules, d.Path)
	}
	slices.Sort(n.Modules)
	n.Modules = slices.Compact(n.Modules)
	return n
}

// names returns the feed documents needed, in a fixed order.
func (n Need) names() ([]string, error) {
	var names []string
	if n.Go {
		names = append(names, GoFeedFile)
	}
	if n.Rust {
		names = append(names, RustFeedFile)
	}
	if n.Kernel {
		names = append(names, KernelFeedFile)
	}
	for _, m := range n.Modules {
		name, err := ModuleListName(m)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// Source hands out feed documents by name (GoFeedFile, ModuleListName(...)).
type Source interface {
	// Fetch returns the document and where it came from.
	Fetch(ctx context.Context, name string) (data []byte, origin string, err error)
}

// ErrFeedUnavailable marks a feed that could not be read at all (missing
// file, unreachable host), as opposed to one that was read but is malformed.
var ErrFeedUnavailable = errors.New("feed unavailable")

// unavailableError carries ErrFeedUnavailable without repeating it in the text.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string        { return e.msg }
func (e *unavailableError) Is(target error) bool { return target == ErrFeedUnavailable }

func unavailable(format string, args ...any) error {
	return &unavailableError{msg: fmt.Sprintf(format, args...)}
}

// DirSource reads feeds from a directory laid out as testdata/feeds is.
type DirSource struct{ Dir string }

// Fetch reads Dir/name.
func (d DirSource) Fetch(_ context.Context, name string) ([]byte, string, error) {
	p := filepath.Join(d.Dir, filepath.FromSlash(name))
	data, err := boundedio.ReadFileLimit(p, maxFeedBytes, "an upstream feed")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p, unavailable("%s does not exist: add it to the snapshot (release policy snapshot --out %s fetches every feed the manifest needs)", p, d.Dir)
	}
	var tooLarge *boundedio.TooLargeError
	var special *boundedio.NotRegularError
	if errors.As(err, &tooLarge) || errors.As(err, &special) {
		return nil, p, err // read, and not a feed: malformed, not unavailable
	}
	if err != nil {
		return nil, p, unavailable("%v", err)
	}
	return data, p, nil
}

// LiveSource fetches feeds from upstream over HTTPS.
type LiveSource struct {
	// Client must carry a timeout; the caller decides how long to wait.
	Client *http.Client
	// GoProxy is the module proxy base URL (DefaultGoProxy when empty).
	GoProxy string
}

// URL maps a feed name to its upstream location.
func (l LiveSource) URL(name string) (string, error) {
	switch name {
	case GoFeedFile:
		return GoFeedURL, nil
	case RustFeedFile:
		return RustFeedURL, nil
	case KernelFeedFile:
		return KernelFeedURL, nil
	}
	if rest, ok := strings.CutPrefix(name, "modules/"); ok {
		proxy := l.GoProxy
		if proxy == "" {
			proxy = DefaultGoProxy
		}
		return strings.TrimSuffix(proxy, "/") + "/" + rest, nil
	}
	return "", fmt.Errorf("no upstream location for feed %q", name)
}

// maxFeedBytes bounds a download; the largest real feed (go.dev with every
// release) is a few MiB.
const maxFeedBytes = 64 * boundedio.MiB

// Fetch downloads the feed.
func (l LiveSource) Fetch(ctx context.Context, name string) ([]byte, string, error) {
	u, err := l.URL(name)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, u, err
	}
	req.Header.Set("User-Agent", "guestforge-release-policy")
	client := l.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, u, unavailable("cannot reach %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, u, unavailable("%s answered %s", u, resp.Status)
	}
	data, err := boundedio.ReadAllLimit(resp.Body, maxFeedBytes, u, "an upstream feed")
	var tooLarge *boundedio.TooLargeError
	if errors.As(err, &tooLarge) {
		return nil, u, err
	}
	if err != nil {
		return nil, u, unavailable("reading %s: %v", u, err)
	}
	return data, u, nil
}

// Fetch collects the raw documents a Need names, concurrently, and reports
// every feed that failed (not just the first).
func Fetch(ctx context.Context, src Source, need Need) (map[string][]byte, map[string]string, error) {
	names, err := need.names()
	if err != nil {
		return nil, nil, err
	}
	type result struct {
		data   []byte
		origin string
		err    error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // polite to upstream, quick enough for ~20 modules
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			d, o, err := src.Fetch(ctx, name)
			results[i] = result{d, o, err}
		}()
	}
	wg.Wait()
	docs := map[string][]byte{}
	origin := map[string]string{}
	var errs []error
	for i, name := range names {
		r := results[i]
		origin[name] = r.origin
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s feed: %w", feedLabel(name), r.err))
			continue
		}
		docs[name] = r.data
	}
	return docs, origin, boundedio.Errors(errs, maxErrors)
}

// feedLabel names a feed for people.
func feedLabel(name string) string {
	switch name {
	case GoFeedFile:
		return "go"
	case RustFeedFile:
		return "rust"
	case KernelFeedFile:
		return "kernel"
	}
	if rest, ok := strings.CutPrefix(name, "modules/"); ok {
		esc := strings.TrimSuffix(rest, "/@v/list")
		if p, err := module.UnescapePath(esc); err == nil {
			return "module " + p
		}
		return "module " + esc
	}
	return name
}

// ParseFeeds parses fetched documents. Every malformed document is
// reported, each naming its origin.
func ParseFeeds(docs map[string][]byte, origin map[string]string, need Need) (*Feeds, error) {
	f := &Feeds{Origin: origin, Modules: map[string][]*semver.Version{}}
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, fmt.Errorf("%s: malformed %s feed: %w", origin[name], feedLabel(name), err))
	}
	if d, ok := docs[GoFeedFile]; ok && need.Go {
		if r, err := ParseGoReleases(d); err != nil {
			bad(GoFeedFile, err)
		} else {
			f.Go = r
		}
	}
	if d, ok := docs[RustFeedFile]; ok && need.Rust {
		if r, err := ParseRustReleases(d); err != nil {
			bad(RustFeedFile, err)
		} else {
			f.Rust = r
		}
	}
	if d, ok := docs[KernelFeedFile]; ok && need.Kernel {
		if r, err := ParseKernelReleases(d); err != nil {
			bad(KernelFeedFile, err)
		} else {
			f.Kernel = r
		}
	}
	for _, m := range need.Modules {
		name, err := ModuleListName(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d, ok := docs[name]
		if !ok {
			continue
		}
		vs, err := ParseModuleList(d)
		if err != nil {
			bad(name, err)
			continue
		}
		f.Modules[m] = vs
	}
	return f, boundedio.Errors(errs, maxErrors)
}

// LoadFeeds fetches and parses what need names.
func LoadFeeds(ctx context.Context, src Source, need Need) (*Feeds, error) {
	docs, origin, fetchErr := Fetch(ctx, src, need)
	f, parseErr := ParseFeeds(docs, origin, need)
	if err := errors.Join(fetchErr, parseErr); err != nil {
		return nil, err
	}
	return f, nil
}

// Snapshot fetches what need names from src and writes each document that
// parses under dir, in the feeds-directory layout. Feeds that could not be
// fetched or are malformed are not written and are reported together.
// It returns the files written.
func Snapshot(ctx context.Context, src Source, need Need, dir string) ([]string, error) {
	docs, origin, fetchErr := Fetch(ctx, src, need)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	slices.Sort(names)
	var written []string
	var errs []error
	for _, name := range names {
		one := Need{Go: name == GoFeedFile, Rust: name == RustFeedFile, Kernel: name == KernelFeedFile}
		if rest, ok := strings.CutPrefix(name, "modules/"); ok {
			p, err := module.UnescapePath(strings.TrimSuffix(rest, "/@v/list"))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			one.Modules = []string{p}
		}
		if _, err := ParseFeeds(map[string][]byte{name: docs[name]}, origin, one); err != nil {
			errs = append(errs, fmt.Errorf("not written: %w", err))
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, docs[name], 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, errors.Join(append([]error{fetchErr}, errs...)...)
}
