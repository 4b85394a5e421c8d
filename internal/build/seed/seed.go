// Package seed bootstraps a minimal Debian root filesystem in pure Go: enough of Debian
// (the Essential set plus mmdebstrap and its dependencies, unpacked without maintainer
// scripts) to run mmdebstrap inside a Dagger container.
//
// Why: builder images are made by mmdebstrap from a pinned suite, never pulled from a
// registry, and the pipelines must run where nothing but the Debian mirror is reachable,
// including inside a Dagger module, which cannot run tools on the caller's host. Every
// byte is verified: InRelease against the archive keyring, the Packages index against
// InRelease, each .deb against the index (Resolve) or the lock (Build).
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
)

// Packages are what the seed must run, on top of the Essential set: mmdebstrap, and
// mount for its chroot mounts.
var Packages = []string{"mmdebstrap", "mount"}

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

func (o Options) mirror() debrepo.Mirror {
	return debrepo.Mirror{URL: o.Mirror, Keyring: o.Keyring, CacheDir: o.CacheDir, Client: o.Client}
}

// Resolve returns the suite's signed index and, sorted by name, the packages a seed of
// o holds: the Essential set, o.Packages and their dependencies (debrepo.Index.Resolve).
// A lock records them; Build installs them.
func Resolve(ctx context.Context, o Options) (*debrepo.Suite, []*debrepo.Package, error) {
	s, err := o.mirror().Suite(ctx, o.Suite, o.Arch)
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := s.Index.Resolve(o.Packages)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve the seed packages of %s/%s: %w", o.Suite, o.Arch, err)
	}
	return s, pkgs, nil
}

// Deb is one package of a seed: its name and the pool file it must be.
type Deb struct {
	Name string
	debrepo.Want
}

// Build downloads exactly debs, each verified against its sha256 and size, and writes
// the seed root filesystem tarball to w. A package that cannot be had is an error
// naming it (*PackageError, joined).
func Build(ctx context.Context, o Options, debs []Deb, w io.Writer) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("seed: downloading packages", "count", len(debs), "suite", o.Suite, "arch", o.Arch)
	wants := make([]debrepo.Want, len(debs))
	for i, d := range debs {
		wants[i] = d.Want
	}
	paths, errs := o.mirror().FetchAll(ctx, wants)
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, &PackageError{Name: debs[i].Name, Err: err})
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	root := NewRootfs(w, o.Epoch)
	for i, d := range debs {
		if err := addDebFile(root, d.Name, paths[i]); err != nil {
			return err
		}
	}
	return root.Finish()
}

// PackageError is one package of a seed that could not be downloaded.
type PackageError struct {
	Name string
	Err  error
}

func (e *PackageError) Error() string { return "package " + e.Name + ": " + e.Err.Error() }
func (e *PackageError) Unwrap() error { return e.Err }

// DebsOf turns resolved packages into what Build takes.
func DebsOf(pkgs []*debrepo.Package) []Deb {
	out := make([]Deb, len(pkgs))
	for i, p := range pkgs {
		out[i] = Deb{Name: p.Name, Want: debrepo.Want{Filename: p.Filename, SHA256: p.SHA256, Size: p.Size}}
	}
	return out
}

func addDebFile(root *Rootfs, name, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return root.AddDeb(name, fh)
}
