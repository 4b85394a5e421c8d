package pkglock

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// MaxBytes bounds a lock file: a builder with compilers for four arches locks a few
// hundred packages per architecture, about 200 bytes each.
const MaxBytes = 16 * boundedio.MiB

// ErrNoLock marks a lock file that does not exist, so callers can say to create it.
var ErrNoLock = errors.New("no lock file")

// Load reads and parses the lock at path.
func Load(path string) (*Lock, error) {
	data, err := boundedio.ReadFileLimit(path, MaxBytes, "a package lock")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoLock, path)
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads a lock; path names it in errors, each with its line.
func Parse(path string, data []byte) (*Lock, error) {
	if int64(len(data)) > MaxBytes {
		return nil, fmt.Errorf("%s: %d bytes, over the %s limit for a package lock", path, len(data), boundedio.FormatSize(MaxBytes))
	}
	p := parser{l: &Lock{Path: path}, seen: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, p.line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w (a line of a lock is under 64 KiB)", path, p.line+1, err)
	}
	if err := p.finish(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p.l, nil
}

type parser struct {
	l    *Lock
	line int
	seen map[string]int // header keys -> line
	cur  *Section
	// pkgs holds name/arch -> line within the current section.
	pkgs map[string]int
}

var headerKeys = []string{"lock", "kind", "name", "suite", "mirror", "variant", "include"}

func (p *parser) parseLine(text string) error {
	text = strings.TrimRight(text, " \t\r")
	if text == "" || strings.HasPrefix(text, "#") {
		return nil
	}
	key, rest, _ := strings.Cut(text, " ")
	if len(p.seen) == 0 {
		if key != "lock" {
			return fmt.Errorf("a package lock starts with \"lock %d\", got %q: not a lock written by `release lock`", FormatVersion, clip(text))
		}
	}
	if slices.Contains(headerKeys, key) {
		if p.cur != nil {
			return fmt.Errorf("%s belongs to the header, before the first arch line", key)
		}
		if first, dup := p.seen[key]; dup {
			return fmt.Errorf("%s appears twice (first on line %d)", key, first)
		}
		p.seen[key] = p.line
		return p.header(key, rest)
	}
	switch key {
	case "arch":
		return p.arch(rest)
	case "date":
		if p.cur == nil {
			return errors.New("date before any arch line")
		}
		if !p.cur.Date.IsZero() {
			return fmt.Errorf("a second date for arch %s", p.cur.Arch)
		}
		t, err := time.Parse(time.RFC3339, rest)
		if err != nil || !strings.HasSuffix(rest, "Z") {
			return fmt.Errorf("date %q is not an RFC 3339 UTC time such as 2026-11-08T09:12:45Z", clip(rest))
		}
		p.cur.Date = t
		return nil
	case "pkg":
		if p.cur == nil {
			return errors.New("pkg before any arch line")
		}
		return p.pkg(rest)
	}
	return fmt.Errorf("unknown line %q (want one of %s, arch, date, pkg)", clip(key), strings.Join(headerKeys, ", "))
}

func (p *parser) header(key, v string) error {
	l := p.l
	switch key {
	case "lock":
		if v != strconv.Itoa(FormatVersion) {
			return fmt.Errorf("lock format %q; this release reads format %d: re-run `release lock --update` with this release", clip(v), FormatVersion)
		}
	case "kind":
		switch Kind(v) {
		case KindImage, KindBuilder, KindSeed:
			l.Kind = Kind(v)
		default:
			return fmt.Errorf("kind %q: want image, builder or seed", clip(v))
		}
	case "name":
		if !lockNamePattern.MatchString(v) {
			return fmt.Errorf("name %q: want an image or builder name such as default", clip(v))
		}
		l.Name = v
	case "suite":
		if !namePattern.MatchString(v) {
			return fmt.Errorf("suite %q is not a Debian suite name", clip(v))
		}
		l.Suite = v
	case "mirror":
		if !mirrorPattern.MatchString(v) {
			return fmt.Errorf("mirror %q is not an http(s) URL", clip(v))
		}
		l.Mirror = v
	case "variant":
		if !slices.Contains(variants, v) {
			return fmt.Errorf("variant %q is not an mmdebstrap variant (%s)", clip(v), strings.Join(variants, ", "))
		}
		l.Variant = v
	case "include":
		names := strings.Fields(v)
		for _, n := range names {
			if !namePattern.MatchString(n) {
				return fmt.Errorf("include %q is not a Debian package name", clip(n))
			}
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			return errors.New("include is not sorted and without duplicates, as `release lock` writes it")
		}
		l.Include = names
	}
	return nil
}

func (p *parser) arch(v string) error {
	if !archPattern.MatchString(v) || v == "all" {
		return fmt.Errorf("arch %q is not a Debian architecture such as amd64", clip(v))
	}
	if err := p.endSection(); err != nil {
		return err
	}
	if _, dup := p.l.Section(v); dup {
		return fmt.Errorf("arch %s appears twice", v)
	}
	if n := len(p.l.Arches); n > 0 && p.l.Arches[n-1].Arch > v {
		return fmt.Errorf("arch %s after %s: sections are sorted, as `release lock` writes them", v, p.l.Arches[n-1].Arch)
	}
	p.cur = &Section{Arch: v, Line: p.line}
	p.l.Arches = append(p.l.Arches, p.cur)
	p.pkgs = map[string]int{}
	return nil
}

// pkg parses "<name> <version> <arch> <priority> <size> <sha256> <filename>".
func (p *parser) pkg(v string) error {
	f := strings.Split(v, " ")
	if len(f) != 7 {
		return fmt.Errorf("pkg has %d fields, want 7: name version arch priority size sha256 filename", len(f))
	}
	e := Entry{Name: f[0], Version: f[1], Arch: f[2], Priority: f[3], SHA256: f[5], Filename: f[6], Line: p.line}
	switch {
	case !namePattern.MatchString(e.Name):
		return fmt.Errorf("%q is not a Debian package name", clip(e.Name))
	case !versionPattern.MatchString(e.Version):
		return fmt.Errorf("package %s: %q is not a Debian version", e.Name, clip(e.Version))
	case e.Arch != p.cur.Arch && e.Arch != "all":
		return fmt.Errorf("package %s is %s in the section of arch %s (want %s or all)", e.Name, clip(e.Arch), p.cur.Arch, p.cur.Arch)
	case !slices.Contains(priorities, e.Priority):
		return fmt.Errorf("package %s: priority %q is not one of %s", e.Name, clip(e.Priority), strings.Join(priorities, ", "))
	case !sha256Pattern.MatchString(e.SHA256):
		return fmt.Errorf("package %s: sha256 %q is not 64 lowercase hex digits", e.Name, clip(e.SHA256))
	case !filenamePattern.MatchString(e.Filename) || strings.Contains(e.Filename, "/../") || strings.Contains(e.Filename, "//") || strings.Contains(e.Filename, "/./"):
		return fmt.Errorf("package %s: %q is not a pool path such as pool/main/a/apt/apt_2.6.1_amd64.deb", e.Name, clip(e.Filename))
	}
	n, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != f[4] {
		return fmt.Errorf("package %s: size %q is not a positive byte count", e.Name, clip(f[4]))
	}
	e.Size = n
	key := e.Name + ":" + e.Arch
	if first, dup := p.pkgs[key]; dup {
		return fmt.Errorf("package %s (%s) appears twice in arch %s (first on line %d)", e.Name, e.Arch, p.cur.Arch, first)
	}
	if last := len(p.cur.Packages) - 1; last >= 0 && p.cur.Packages[last].Name > e.Name {
		return fmt.Errorf("package %s after %s: packages are sorted by name, as `release lock` writes them", e.Name, p.cur.Packages[last].Name)
	}
	p.pkgs[key] = p.line
	p.cur.Packages = append(p.cur.Packages, e)
	return nil
}

func (p *parser) endSection() error {
	if p.cur == nil {
		return nil
	}
	if p.cur.Date.IsZero() {
		return fmt.Errorf("arch %s (line %d) has no date line", p.cur.Arch, p.cur.Line)
	}
	if len(p.cur.Packages) == 0 {
		return fmt.Errorf("arch %s (line %d) locks no package", p.cur.Arch, p.cur.Line)
	}
	return nil
}

func (p *parser) finish() error {
	if len(p.seen) == 0 {
		return fmt.Errorf("empty: a package lock starts with \"lock %d\"", FormatVersion)
	}
	for _, k := range []string{"kind", "name", "suite", "mirror"} {
		if _, ok := p.seen[k]; !ok {
			return fmt.Errorf("no %s line in the header", k)
		}
	}
	if _, ok := p.seen["variant"]; !ok && p.l.Kind != KindSeed {
		return fmt.Errorf("no variant line: a lock of kind %s records mmdebstrap's variant", p.l.Kind)
	}
	if err := p.endSection(); err != nil {
		return err
	}
	if len(p.l.Arches) == 0 {
		return errors.New("no arch section: the lock locks nothing")
	}
	return nil
}

// clip keeps hostile values short in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
