package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/release/sbom"
)

// maxStatusBytes bounds dpkg's status file in a root filesystem: a builder with a few
// hundred packages has about 1 MiB.
const maxStatusBytes = 64 * boundedio.MiB

// installedFromTar reads what dpkg's status lists as installed in a root filesystem
// tarball (mmdebstrap's, whose members are ./var/lib/dpkg/status and so on).
func installedFromTar(file string) ([]pkglock.Installed, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	tr := tar.NewReader(fh)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s has no var/lib/dpkg/status: not a Debian root filesystem", file)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if path.Clean("/"+hdr.Name) != "/var/lib/dpkg/status" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		name := file + ":/var/lib/dpkg/status"
		data, err := boundedio.ReadAllLimit(tr, maxStatusBytes, name, "a dpkg status file")
		if err != nil {
			return nil, err
		}
		pkgs, err := sbom.ParseStatus(bytes.NewReader(data), name)
		if err != nil {
			return nil, err
		}
		out := make([]pkglock.Installed, len(pkgs))
		for i, p := range pkgs {
			out[i] = pkglock.Installed{Name: p.Name, Version: p.Version, Arch: p.Architecture}
		}
		return out, nil
	}
}

// checkedLock loads the lock at rel from the checkout and checks it answers in: a
// missing or stale lock is an error that says which command resolves it.
func checkedLock(ctx context.Context, repo *Repo, rel string, in pkglock.Inputs) (*pkglock.Lock, error) {
	l, err := repo.Lock(ctx, rel)
	if errors.Is(err, pkglock.ErrNoLock) {
		return nil, badInput(in.Missing(rel))
	}
	if err != nil {
		return nil, badInput(err)
	}
	if err := l.Check(in); err != nil {
		return nil, badInput(err)
	}
	return l, nil
}

// section is the section of arch a, which checkedLock made sure exists.
func section(l *pkglock.Lock, a string) (*pkglock.Section, error) {
	s, ok := l.Section(a)
	if !ok {
		return nil, badInput(fmt.Errorf("%s has no section for arch %s; run `%s`", l.Path, a, pkglock.Refresh(l.Kind, l.Name)))
	}
	return s, nil
}
