// Package sums writes and checks SHA256SUMS files in the format of GNU
// coreutils' sha256sum ("<hex>  <path>\n", sorted bytewise), so that
// `sha256sum -c SHA256SUMS` run inside dist/<version>/ agrees with us.
package sums

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// Entry is one line: a file (slash path relative to the directory the
// SHA256SUMS file sits in) and its lowercase hex SHA-256.
type Entry struct {
	Path   string
	SHA256 string
}

// File hashes one file (sha256sum.File), naming it in the error.
func File(path string) (string, error) {
	sum, _, err := sha256sum.File(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return sum, nil
}

// Compute hashes every rel path under root and returns the entries sorted.
func Compute(root string, rels []string) ([]Entry, error) {
	out := make([]Entry, 0, len(rels))
	for _, rel := range rels {
		if err := checkName(rel); err != nil {
			return nil, err
		}
		sum, err := File(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Path: rel, SHA256: sum})
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
}

// checkName refuses names sha256sum would have to escape (backslash, newline)
// or that leave the directory: dist names never need either.
func checkName(rel string) error {
	if strings.ContainsAny(rel, "\\\n\r") {
		return fmt.Errorf("file name %q needs escaping in SHA256SUMS: rename it", rel)
	}
	return dist.CheckRel(rel)
}

// Marshal renders entries in text mode ("<hex>  <path>"), sorted bytewise.
func Marshal(entries []Entry) []byte {
	es := append([]Entry(nil), entries...)
	sortEntries(es)
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "%s  %s\n", e.SHA256, e.Path)
	}
	return b.Bytes()
}

// Parse reads a SHA256SUMS file. name is used in errors (file:line). It
// accepts text ("  ") and binary (" *") mode lines, refuses duplicates,
// malformed digests and paths that leave the directory.
func Parse(r io.Reader, name string) ([]Entry, error) {
	var out []Entry
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			continue
		}
		if len(text) < 66 || (text[64:66] != "  " && text[64:66] != " *") {
			return nil, fmt.Errorf("%s:%d: not a sha256sum line (want \"<64 hex>  <path>\")", name, line)
		}
		sum, rel := text[:64], text[66:]
		if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
			return nil, fmt.Errorf("%s:%d: %q is not a lowercase hex SHA-256", name, line, sum)
		}
		if err := checkName(rel); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if prev, dup := seen[rel]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice (first at line %d)", name, line, rel, prev)
		}
		seen[rel] = line
		out = append(out, Entry{Path: rel, SHA256: sum})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no entries", name)
	}
	return out, nil
}

// ReadFile parses the SHA256SUMS file at path.
func ReadFile(path string) ([]Entry, error) {
	b, err := boundedio.ReadFileLimit(path, MaxSumsBytes, "a checksum file")
	if err != nil {
		return nil, fmt.Errorf("read checksum file: %w", err)
	}
	return Parse(bytes.NewReader(b), path)
}

// MaxSumsBytes bounds SHA256SUMS: a line per file, about a hundred bytes
// each, and a release has tens of files.
const MaxSumsBytes = 16 * boundedio.MiB

// MismatchError says which file failed and how.
type MismatchError struct {
	Path      string
	Want, Got string // Got is empty when the file is missing
	Err       error  // why the file could not be read, if it could not
}

func (e *MismatchError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: cannot check: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: sha256 %s does not match SHA256SUMS (%s): the file was modified or corrupted after signing", e.Path, e.Got, e.Want)
}

func (e *MismatchError) Unwrap() error { return e.Err }

// Verify hashes every entry under root, in order, and returns a
// *MismatchError for the first file that is missing or differs.
func Verify(root string, entries []Entry) error {
	for _, e := range entries {
		got, err := File(filepath.Join(root, filepath.FromSlash(e.Path)))
		if err != nil {
			return &MismatchError{Path: e.Path, Want: e.SHA256, Err: err}
		}
		if got != e.SHA256 {
			return &MismatchError{Path: e.Path, Want: e.SHA256, Got: got}
		}
	}
	return nil
}

// Write computes SHA256SUMS for what the tree says is summed and writes it
// atomically at the top of the tree. It returns the entries written.
func Write(t *dist.Tree) ([]Entry, error) {
	entries, err := Compute(t.Root, t.Summed())
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("nothing to checksum: the dist tree has no files (did the build export into it?)")
	}
	if err := dist.WriteFile(t.Path(dist.SumsFile), Marshal(entries)); err != nil {
		return nil, err
	}
	return entries, nil
}
