package debrepo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/policy"
)

// Snapshot reads a suite from a directory laid out as the mirror is, under debian/
// (the policy feeds' layout: testdata/feeds/debian/dists/<suite>/Release):
// dists/<suite>/InRelease or Release, and dists/<suite>/main/binary-<arch>/Packages.gz
// or Packages. Nothing is verified: a snapshot is reviewed data, and what it tells is
// only ever a preview (`release plan`, `release lock --dry-run`); a lock is written from
// the verified Mirror.
type Snapshot struct{ Dir string }

// maxIndexBytes bounds a decompressed Packages index: bookworm's amd64 main is about
// 45 MiB.
const maxIndexBytes = 512 * boundedio.MiB

// Suite implements Source.
func (s Snapshot) Suite(_ context.Context, suite, arch string) (*Suite, error) {
	dists := filepath.Join(s.Dir, "debian", "dists", suite)
	head, origin, err := s.release(dists)
	if err != nil {
		return nil, err
	}
	idx, err := s.index(filepath.Join(dists, "main", "binary-"+arch))
	if err != nil {
		return nil, err
	}
	return &Suite{Name: suite, Arch: arch, Date: head.Date, Index: idx, Origin: origin}, nil
}

func (s Snapshot) release(dists string) (policy.DebianRelease, string, error) {
	for _, name := range []string{"InRelease", "Release"} {
		p := filepath.Join(dists, name)
		data, err := boundedio.ReadFileLimit(p, maxInReleaseBytes, "a Debian Release file")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return policy.DebianRelease{}, p, err
		}
		head, err := policy.ParseDebianRelease(data)
		if err != nil {
			return head, p, fmt.Errorf("%s: %w", p, err)
		}
		return head, p, nil
	}
	return policy.DebianRelease{}, dists, fmt.Errorf("%w: %s has no InRelease or Release", ErrNoSnapshot, dists)
}

// ErrNoSnapshot marks a snapshot directory that does not hold the suite or arch asked
// for, as opposed to one holding a malformed file.
var ErrNoSnapshot = errors.New("not in the snapshot")

func (s Snapshot) index(dir string) (*Index, error) {
	if p := filepath.Join(dir, "Packages.gz"); fileExists(p) {
		gz, err := boundedio.ReadFileLimit(p, maxIndexBytes, "a compressed Packages index")
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		data, err := boundedio.ReadAllLimit(zr, maxIndexBytes, p, "a Packages index")
		if err != nil {
			return nil, err
		}
		return ParseIndex(p, bytes.NewReader(data))
	}
	p := filepath.Join(dir, "Packages")
	data, err := boundedio.ReadFileLimit(p, maxIndexBytes, "a Packages index")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no Packages.gz or Packages", ErrNoSnapshot, dir)
	}
	if err != nil {
		return nil, err
	}
	return ParseIndex(p, io.Reader(bytes.NewReader(data)))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
