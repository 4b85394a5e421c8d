package debrepo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/debrepo/debrepotest"
)

var date = time.Date(2026, 11, 8, 9, 12, 45, 0, time.UTC)

func fixture(t *testing.T) (*debrepotest.Archive, []debrepotest.Pkg) {
	t.Helper()
	a := debrepotest.NewArchive(t, "bookworm")
	pkgs := []debrepotest.Pkg{
		{Name: "base-files", Version: "12.4+deb12u12", Arch: "amd64", Essential: true, Priority: "required"},
		{Name: "adduser", Version: "3.134", Arch: "all", Priority: "important"},
		{Name: "libfoo1", Version: "2.0-3", Arch: "arm64"},
		{Name: "unrelated", Version: "1", Arch: "amd64"},
	}
	a.Publish(date, []string{"amd64", "arm64"}, pkgs...)
	return a, pkgs
}

func TestMirrorSuite(t *testing.T) {
	a, pkgs := fixture(t)
	m := debrepo.Mirror{URL: a.URL, Keyring: a.Keyring, CacheDir: t.TempDir()}
	s, err := m.Suite(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Date.Equal(date) || s.Name != "bookworm" || s.Arch != "amd64" || s.Origin != a.URL+"/dists/bookworm/InRelease" {
		t.Fatalf("suite = %+v", s)
	}
	bf, ok := s.Index.Lookup("base-files")
	if !ok || bf.Version != "12.4+deb12u12" || bf.Priority != "required" || !bf.Essential || bf.Filename != pkgs[0].Filename() {
		t.Fatalf("base-files = %+v", bf)
	}
	if _, ok := s.Index.Lookup("adduser"); !ok {
		t.Fatal("an Architecture: all package is missing from binary-amd64")
	}
	if _, ok := s.Index.Lookup("libfoo1"); ok {
		t.Fatal("an arm64 package is in binary-amd64")
	}
	// The index says what the pool holds: a fetch by its hash gets the real .deb.
	path, err := m.Fetch(context.Background(), a.URL+"/"+bf.Filename, bf.SHA256, bf.Size)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, a.Deb(pkgs[0])) {
		t.Fatal("the fetched .deb is not the pool's")
	}

	// An index that is not the one InRelease signed is refused.
	a.SetFile("/dists/bookworm/main/binary-amd64/Packages.gz", []byte("not the index"))
	m.CacheDir = t.TempDir()
	if _, err := m.Suite(context.Background(), "bookworm", "amd64"); err == nil || !strings.Contains(err.Error(), "the signed index says") {
		t.Fatalf("want a sha256 mismatch for a replaced index, got %v", err)
	}
	// Nor is an arch the suite does not have.
	if _, err := m.Suite(context.Background(), "bookworm", "s390x"); err == nil || !strings.Contains(err.Error(), "main/binary-s390x/Packages.gz") {
		t.Fatalf("want an error naming the missing index, got %v", err)
	}
	// Nor an InRelease another key signed.
	m.Keyring = debrepotest.NewArchive(t, "bookworm").Keyring
	if _, err := m.Suite(context.Background(), "bookworm", "arm64"); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("want a signature error, got %v", err)
	}
}

func TestFetchAllNamesEachFailure(t *testing.T) {
	a, pkgs := fixture(t)
	m := debrepo.Mirror{URL: a.URL, Keyring: a.Keyring, CacheDir: t.TempDir()}
	s, err := m.Suite(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	var wants []debrepo.Want
	for _, n := range []string{"adduser", "base-files"} {
		p, _ := s.Index.Lookup(n)
		wants = append(wants, debrepo.Want{Filename: p.Filename, SHA256: p.SHA256, Size: p.Size})
	}
	a.Remove(pkgs[0].Filename())
	paths, errs := m.FetchAll(context.Background(), wants)
	if errs[0] != nil || paths[0] == "" {
		t.Fatalf("adduser: %q, %v", paths[0], errs[0])
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "404 Not Found") || !strings.Contains(errs[1].Error(), pkgs[0].Filename()) {
		t.Fatalf("base-files removed from the pool: %v", errs[1])
	}
}

func TestSnapshot(t *testing.T) {
	a, _ := fixture(t)
	dir := t.TempDir()
	a.Snapshot(dir)
	s, err := debrepo.Snapshot{Dir: dir}.Suite(context.Background(), "bookworm", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Date.Equal(date) || s.Origin != filepath.Join(dir, "debian/dists/bookworm/InRelease") {
		t.Fatalf("suite = %+v", s)
	}
	if p, ok := s.Index.Lookup("libfoo1"); !ok || p.Version != "2.0-3" {
		t.Fatalf("libfoo1 = %+v", p)
	}
	_, err = debrepo.Snapshot{Dir: dir}.Suite(context.Background(), "trixie", "arm64")
	if err == nil || !strings.Contains(err.Error(), "has no InRelease or Release") {
		t.Fatalf("want a missing-suite error, got %v", err)
	}
	_, err = debrepo.Snapshot{Dir: dir}.Suite(context.Background(), "bookworm", "riscv64")
	if err == nil || !strings.Contains(err.Error(), "binary-riscv64 has no Packages.gz or Packages") {
		t.Fatalf("want a missing-arch error, got %v", err)
	}
}
