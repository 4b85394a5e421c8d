package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/fetch"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// lockRepoMount is where a locked mmdebstrap finds its repository.
const lockRepoMount = "/var/cache/guestforge-lock"

// lockSource is the only apt source of a locked mmdebstrap: the flat repository of
// the locked .debs, which apt copies into the chroot's archive cache as it would
// downloads. trusted=yes: every .deb in it was verified against the lock first.
const lockSource = "deb [trusted=yes] copy://" + lockRepoMount + " ./"

// lockedDebs downloads every package of section s of l into the client's deb cache,
// each pinned to the lock's sha256 and size, and verifies each against its entry (size,
// sha256, control file). A package the mirror no longer serves (superseded), or serves
// with other bytes, is an error naming the package, its lock line and the command that
// refreshes the lock. Nothing is built before this passed.
func (p *Pipeline) lockedDebs(ctx context.Context, l *pkglock.Lock, s *pkglock.Section) ([]debrepo.FlatDeb, error) {
	m := debrepo.Mirror{URL: l.Mirror, Keyring: p.Keyring, CacheDir: p.dir("debs")}
	wants := make([]debrepo.Want, len(s.Packages))
	for i, e := range s.Packages {
		wants[i] = debrepo.Want{Filename: e.Filename, SHA256: e.SHA256, Size: e.Size}
	}
	paths, errs := m.FetchAll(ctx, wants)
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, lockFetchError(l, s.Packages[i], err))
		}
	}
	if len(failed) > 0 {
		return nil, errors.Join(failed...)
	}
	out := make([]debrepo.FlatDeb, len(s.Packages))
	for i, e := range s.Packages {
		ctl, err := l.VerifyDeb(e, paths[i])
		if err != nil {
			return nil, err
		}
		out[i] = debrepo.FlatDeb{Path: paths[i], Control: ctl, Filename: e.Filename, SHA256: e.SHA256, Size: e.Size, Priority: e.Priority}
	}
	return out, nil
}

// lockFetchError says what a failed download of a locked package means for the lock.
func lockFetchError(l *pkglock.Lock, e pkglock.Entry, err error) error {
	problem := err.Error()
	var fe *fetch.Error
	if errors.As(err, &fe) {
		switch {
		case fe.Kind == fetch.Status && (fe.Status == "404 Not Found" || fe.Status == "410 Gone"):
			problem = fmt.Sprintf("%s answered %s: the mirror no longer serves the locked version (superseded)", fe.URL, fe.Status)
		case fe.Kind == fetch.Mismatch:
			problem = fmt.Sprintf("%s has sha256 %s, the lock says %s", fe.URL, fe.Got, fe.Want)
		case fe.Kind == fetch.TooLarge:
			problem = fmt.Sprintf("%s is larger than the %d bytes the lock says", fe.URL, e.Size)
		}
	}
	return &pkglock.EntryError{Lock: l.Path, Entry: e, Problem: problem, Refresh: pkglock.Refresh(l.Kind, l.Name)}
}

// lockRepo returns the flat repository of exactly section s of l (debrepo.WriteFlat),
// kept on the client under the section's digest, so the engine sees the same directory
// for the same lock.
func (p *Pipeline) lockRepo(ctx context.Context, l *pkglock.Lock, s *pkglock.Section) (*dagger.Directory, error) {
	debs, err := p.lockedDebs(ctx, l, s)
	if err != nil {
		return nil, err
	}
	dir := p.dir("lockrepo", l.Digest(s)[:16])
	if _, err := os.Stat(filepath.Join(dir, "Release")); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("create the lock repository cache: %w", err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".lockrepo-*")
		if err != nil {
			return nil, fmt.Errorf("create the lock repository cache: %w", err)
		}
		if err := debrepo.WriteFlat(tmp, debs, l.Suite, s.Date); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("%s: write the repository of arch %s: %w", l.Path, s.Arch, err)
		}
		os.RemoveAll(dir) // a repository left without its Release by a killed run
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
	}
	return p.Client.Host().Directory(dir), nil
}
