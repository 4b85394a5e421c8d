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
	"strconv"
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
	GoFeedFile     = "go.json"            // https://go.dev/dl/?mode=json&include=all
	RustFeedFile   = "rust-releases.md"   // rust-lang/rust RELEASES.md (master)
	KernelFeedFile = "releases.json"      // https://www.kernel.org/releases.json
	Edk2FeedFile   = "edk2-releases.json" // GitHub's release list of tianocore/edk2
)

// Upstream locations of the feeds, fetched when no feeds directory is given.
const (
	GoFeedURL     = "https://go.dev/dl/?mode=json&include=all"
	RustFeedURL   = "https://raw.githubusercontent.com/rust-lang/rust/master/RELEASES.md"
	KernelFeedURL = "https://www.kernel.org/releases.json"
	Edk2FeedURL   = "https://api.github.com/repos/tianocore/edk2/releases?per_page=100"
	// DefaultGoProxy serves module version lists at <proxy>/<escaped path>/@v/list.
	DefaultGoProxy = "https://proxy.golang.org"
	// DefaultDebianMirror serves dists/<suite>/Release when the manifest
	// names no mirror.
	DefaultDebianMirror = "http://deb.debian.org/debian"
)

// Feeds is the upstream release data a check runs against. A nil field
// means that feed was not loaded.
type Feeds struct {
	Go      []GoRelease
	Rust    []RustRelease
	Kernel  []KernelRelease
	Edk2    []Edk2Release // newest first
	Modules map[string][]*semver.Version
	// Debian holds one Release head per DebianSuites entry, in that order.
	Debian []DebianRelease
	// Majors holds, per go.mod module path, the newer majors found under
	// their own paths, oldest first (cosign/v2: cosign/v3).
	Majors map[string][]ModuleMajor
	// Origin says where each document came from (file or URL), by feed
	// file name, so reports and errors can point at it.
	Origin map[string]string
}

// Need lists the feeds a manifest and its dependencies are checked against.
type Need struct {
	Go, Rust, Kernel, Edk2 bool
	Modules                []string
	// Debian asks for the Release files of DebianSuites from DebianMirror
	// (DefaultDebianMirror when empty).
	Debian       bool
	DebianMirror string
	// Majors are the modules (at v1 or later) whose newer majors are probed
	// for: <path>/v(N+1), /v(N+2)... until the proxy says there is none.
	Majors []string
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
	n.Edk2 = m.Firmware.Edk2.Feed == manifest.FeedEdk2
	n.Debian = m.Distro.Feed == manifest.FeedDebian
	n.DebianMirror = m.Distro.Mirror
	for _, d := range deps {
		n.Modules = append(n.Modules, d.Path)
		// A v0 module promises nothing and moves to v1 on the same path, so
		// only v1 and later can have a newer major under another path.
		if v, err := ParseModuleVersion(d.Version); err == nil && v.Major() >= 1 {
			n.Majors = append(n.Majors, d.Path)
		}
	}
	slices.Sort(n.Modules)
	n.Modules = slices.Compact(n.Modules)
	slices.Sort(n.Majors)
	n.Majors = slices.Compact(n.Majors)
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
	if n.Edk2 {
		names = append(names, Edk2FeedFile)
	}
	if n.Debian {
		for _, s := range DebianSuites {
			names = append(names, DebianReleaseFile(s))
		}
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

// ErrNoSuchModule marks a module path the proxy says does not exist (404
// or 410, as the GOPROXY protocol has it), or that a snapshot records as
// absent. Probing for newer majors stops there; for a go.mod requirement
// it is a feed that cannot be read, so it is ErrFeedUnavailable too.
var ErrNoSuchModule = errors.New("no such module")

type absentError struct{ msg string }

func (e *absentError) Error() string { return e.msg }
func (e *absentError) Is(target error) bool {
	return target == ErrNoSuchModule || target == ErrFeedUnavailable
}

// DirSource reads feeds from a directory laid out as testdata/feeds is.
type DirSource struct{ Dir string }

// Fetch reads Dir/name. A module list that is missing where the snapshot
// recorded the module as absent (ModuleAbsentName) is ErrNoSuchModule.
func (d DirSource) Fetch(_ context.Context, name string) ([]byte, string, error) {
	p := filepath.Join(d.Dir, filepath.FromSlash(name))
	data, err := boundedio.ReadFileLimit(p, maxFeedBytes, "an upstream feed")
	if errors.Is(err, fs.ErrNotExist) {
		if absent, ok := strings.CutSuffix(name, "/@v/list"); ok {
			mp := filepath.Join(d.Dir, filepath.FromSlash(absent+"/@v/"+absentFile))
			note, aerr := boundedio.ReadFileLimit(mp, maxAbsentBytes, "a no-such-module record")
			if aerr == nil {
				return nil, mp, &absentError{msg: fmt.Sprintf("%s records that the module does not exist: %s", mp, strings.TrimSpace(string(note)))}
			}
			if !errors.Is(aerr, fs.ErrNotExist) {
				return nil, mp, aerr
			}
		}
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
	// DebianMirror serves dists/<suite>/Release. When empty, LoadFeeds and
	// Snapshot use the manifest's distro.mirror (Need.DebianMirror), so the
	// gate reads the archive the builds install from.
	DebianMirror string
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
	case Edk2FeedFile:
		return Edk2FeedURL, nil
	}
	if rest, ok := strings.CutPrefix(name, "debian/"); ok {
		mirror := l.DebianMirror
		if mirror == "" {
			mirror = DefaultDebianMirror
		}
		return strings.TrimSuffix(mirror, "/") + "/" + rest, nil
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
	gone := resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone
	if gone && strings.HasPrefix(name, "modules/") {
		return nil, u, &absentError{msg: fmt.Sprintf("%s answered %s", u, resp.Status)}
	}
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
// every feed that failed (not just the first). For each of need.Majors it
// then probes the next major's path, and the next, until the proxy says
// there is no such module; that answer is kept as a document too
// (ModuleAbsentName), so a snapshot can tell "no such major" from a file
// that was never fetched.
func Fetch(ctx context.Context, src Source, need Need) (map[string][]byte, map[string]string, error) {
	names, err := need.names()
	if err != nil {
		return nil, nil, err
	}
	src = withMirror(src, need)
	docs := map[string][]byte{}
	origin := map[string]string{}
	var errs []error
	for i, r := range fetchAll(ctx, src, names) {
		origin[names[i]] = r.origin
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s feed: %w", feedLabel(names[i]), r.err))
			continue
		}
		docs[names[i]] = r.data
	}
	errs = append(errs, probeMajors(ctx, src, need.Majors, docs, origin)...)
	return docs, origin, boundedio.Errors(errs, maxErrors)
}

type fetched struct {
	data   []byte
	origin string
	err    error
}

func fetchAll(ctx context.Context, src Source, names []string) []fetched {
	results := make([]fetched, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // polite to upstream, quick enough for ~20 modules
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			d, o, err := src.Fetch(ctx, name)
			results[i] = fetched{d, o, err}
		}()
	}
	wg.Wait()
	return results
}

// withMirror points a LiveSource without a mirror of its own at the
// manifest's: distro.mirror is the pinned input, and the gate must read the
// suites of the archive the builds use.
func withMirror(src Source, need Need) Source {
	if l, ok := src.(LiveSource); ok && l.DebianMirror == "" && need.DebianMirror != "" {
		l.DebianMirror = need.DebianMirror
		return l
	}
	return src
}

// maxMajorProbes bounds the walk up the majors of one module (gomajor
// stops at the same number); no real module is near it.
const maxMajorProbes = 100

// probeMajors walks /v(N+1), /v(N+2)... for every module of bases, one
// round of concurrent requests per major, adding what it finds to docs.
func probeMajors(ctx context.Context, src Source, bases []string, docs map[string][]byte, origin map[string]string) []error {
	type walk struct{ base, next string }
	var walks []walk
	for _, b := range bases {
		if next, ok := nextMajorPath(b); ok {
			walks = append(walks, walk{b, next})
		}
	}
	var errs []error
	for round := 0; len(walks) > 0; round++ {
		if round == maxMajorProbes {
			for _, w := range walks {
				errs = append(errs, fmt.Errorf("module %s: still finding newer majors after %d probes (up to %s): the proxy answers every path; check it", w.base, maxMajorProbes, w.next))
			}
			break
		}
		names := make([]string, 0, len(walks))
		live := walks[:0]
		for _, w := range walks {
			name, err := ModuleListName(w.next)
			if err != nil {
				errs = append(errs, fmt.Errorf("module %s: %w", w.base, err))
				continue
			}
			names, live = append(names, name), append(live, w)
		}
		walks = live
		var more []walk
		for i, r := range fetchAll(ctx, src, names) {
			w, name := walks[i], names[i]
			switch {
			case errors.Is(r.err, ErrNoSuchModule):
				marker := ModuleAbsentName(w.next)
				docs[marker] = []byte(r.err.Error() + "\n")
				origin[marker] = r.origin
			case r.err != nil:
				errs = append(errs, fmt.Errorf("module %s: probing for a newer major at %s: %w (only 404 or 410 says there is no such module; any other answer leaves the question open)", w.base, w.next, r.err))
			default:
				docs[name], origin[name] = r.data, r.origin
				if next, ok := nextMajorPath(w.next); ok {
					more = append(more, walk{w.base, next})
				}
			}
		}
		walks = more
	}
	return errs
}

// nextMajorPath is the module path of the major after path's: /v2 after an
// unsuffixed (v1) path, /v(N+1) after /vN, and gopkg.in's .v(N+1) after .vN.
func nextMajorPath(path string) (string, bool) {
	prefix, pathMajor, ok := module.SplitPathVersion(path)
	if !ok {
		return "", false
	}
	if pathMajor == "" {
		return prefix + "/v2", true
	}
	n, err := strconv.Atoi(pathMajor[2:])
	if err != nil || n >= 1<<20 {
		return "", false
	}
	return prefix + pathMajor[:2] + strconv.Itoa(n+1), true
}

// absentFile records, beside where a module's @v/list would be, that the
// proxy said the module does not exist (its answer is the content).
const absentFile = "absent"

// maxAbsentBytes bounds that record: one line naming the URL and status.
const maxAbsentBytes = 4 << 10

// ModuleAbsentName is where a snapshot records that a module path does not
// exist: modules/<escaped path>/@v/absent, never served by a real proxy,
// so the directory still works as a GOPROXY file tree.
func ModuleAbsentName(path string) string {
	esc, err := module.EscapePath(path)
	if err != nil {
		esc = path
	}
	return "modules/" + esc + "/@v/" + absentFile
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
	case Edk2FeedFile:
		return "edk2"
	}
	if rest, ok := strings.CutPrefix(name, "debian/dists/"); ok {
		return "debian " + strings.TrimSuffix(rest, "/Release")
	}
	if rest, ok := strings.CutPrefix(name, "modules/"); ok {
		esc := strings.TrimSuffix(strings.TrimSuffix(rest, "/@v/list"), "/@v/"+absentFile)
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
	f := &Feeds{Origin: origin, Modules: map[string][]*semver.Version{}, Majors: map[string][]ModuleMajor{}}
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
	if d, ok := docs[Edk2FeedFile]; ok && need.Edk2 {
		if r, err := ParseEdk2Releases(d); err != nil {
			bad(Edk2FeedFile, err)
		} else {
			f.Edk2 = r
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
	if need.Debian {
		for _, suite := range DebianSuites {
			name := DebianReleaseFile(suite)
			d, ok := docs[name]
			if !ok {
				continue
			}
			r, err := ParseDebianRelease(d)
			if err == nil && r.Suite != suite {
				err = fmt.Errorf("it is the Release file of %s (%s), not of %s: the mirror or the snapshot mixed them up", r.Suite, r.Codename, suite)
			}
			if err != nil {
				bad(name, err)
				continue
			}
			f.Debian = append(f.Debian, r)
		}
	}
	for _, base := range need.Majors {
		majors, err := parseMajors(docs, base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.Majors[base] = majors
	}
	return f, boundedio.Errors(errs, maxErrors)
}

// ModuleMajor is a newer major of a module, found under its own path.
type ModuleMajor struct {
	Path     string // github.com/sigstore/cosign/v3
	Major    uint64
	Versions []*semver.Version // its @v/list
}

// parseMajors follows the probed paths of base in docs, stopping where the
// walk stopped (a no-such-module record, or a probe that failed and was
// reported by Fetch).
func parseMajors(docs map[string][]byte, base string) ([]ModuleMajor, error) {
	var out []ModuleMajor
	path := base
	for range maxMajorProbes {
		next, ok := nextMajorPath(path)
		if !ok {
			break
		}
		name, err := ModuleListName(next)
		if err != nil {
			return nil, err
		}
		d, ok := docs[name]
		if !ok {
			break
		}
		vs, err := ParseModuleList(d)
		if err != nil {
			return nil, fmt.Errorf("%s: malformed module %s feed: %w", name, next, err)
		}
		_, pm, _ := module.SplitPathVersion(next)
		n, _ := strconv.ParseUint(pm[2:], 10, 64)
		out = append(out, ModuleMajor{Path: next, Major: n, Versions: vs})
		path = next
	}
	return out, nil
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
// parses under dir, in the feeds-directory layout, with a no-such-module
// record (ModuleAbsentName) where the walk up a module's majors ended. Feeds that could not be
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
		one := Need{Go: name == GoFeedFile, Rust: name == RustFeedFile, Kernel: name == KernelFeedFile, Edk2: name == Edk2FeedFile, Debian: strings.HasPrefix(name, "debian/")}
		if strings.HasSuffix(name, "/@v/"+absentFile) {
			// Written as the proxy answered: nothing to parse.
		} else if rest, ok := strings.CutPrefix(name, "modules/"); ok {
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
		// A module that appeared or vanished since the last snapshot leaves
		// the other record behind, and DirSource reads the list first.
		if stale, ok := staleRecord(name); ok {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(stale))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return written, err
			}
		}
	}
	return written, errors.Join(append([]error{fetchErr}, errs...)...)
}

// staleRecord is the record a module list and a no-such-module record
// replace in each other's place.
func staleRecord(name string) (string, bool) {
	if dir, ok := strings.CutSuffix(name, "/@v/list"); ok && strings.HasPrefix(name, "modules/") {
		return dir + "/@v/" + absentFile, true
	}
	if dir, ok := strings.CutSuffix(name, "/@v/"+absentFile); ok {
		return dir + "/@v/list", true
	}
	return "", false
}
