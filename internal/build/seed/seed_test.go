package seed

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/debrepo/debrepotest"
)

type file = debrepotest.File

func makeDeb(t *testing.T, files []file) []byte {
	t.Helper()
	return debrepotest.Deb(t, "Package: test\nVersion: 1\nArchitecture: amd64", files)
}

type entry struct {
	typ  byte
	body string
	link string
	mode int64
}

func readTar(t *testing.T, data []byte) (map[string]entry, []string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	got := map[string]entry{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got, order
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[h.Name]; dup {
			t.Fatalf("duplicate entry %s", h.Name)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = entry{typ: h.Typeflag, body: string(b), link: h.Linkname, mode: h.Mode}
		order = append(order, h.Name)
	}
}

func TestRootfsMergesPackagesAndAddsSeedFixups(t *testing.T) {
	base := makeDeb(t, []file{
		{Name: "./", Dir: true},
		{Name: "./usr/", Dir: true},
		{Name: "./usr/share/base-passwd/", Dir: true},
		{Name: "./usr/share/base-passwd/passwd.master", Body: "root:*:0:0:root:/root:/bin/bash\n"},
		{Name: "./usr/share/base-passwd/group.master", Body: "root:*:0:\n"},
		{Name: "./etc/os-release", Body: "ID=debian\n"},
	})
	other := makeDeb(t, []file{
		{Name: "./usr/", Dir: true},
		{Name: "./etc/os-release", Body: "ID=impostor\n"},
		{Name: "./usr/bin/dash", Body: "\x7fELF"},
		{Name: "./usr/bin/sh.distrib", Link: "dash"},
	})
	var out bytes.Buffer
	r := NewRootfs(&out, time.Unix(1767225600, 0))
	if err := r.AddDeb("base-passwd", bytes.NewReader(base)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddDeb("dash", bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	got, _ := readTar(t, out.Bytes())
	if e := got["etc/os-release"]; e.body != "ID=debian\n" {
		t.Fatalf("etc/os-release = %q: the first package to ship a path must win", e.body)
	}
	if e := got["etc/passwd"]; e.body != "root:*:0:0:root:/root:/bin/bash\n" {
		t.Fatalf("etc/passwd = %q, want base-passwd's master", e.body)
	}
	if e := got["etc/group"]; e.body != "root:*:0:\n" {
		t.Fatalf("etc/group = %q", e.body)
	}
	if e := got["bin/sh"]; e.typ != tar.TypeSymlink || e.link != "dash" {
		t.Fatalf("bin/sh = %+v, want a symlink to dash", e)
	}
	if e := got["usr/bin/sh.distrib"]; e.typ != tar.TypeSymlink || e.link != "dash" {
		t.Fatalf("package symlink lost: %+v", e)
	}
	if e := got["tmp/"]; e.typ != tar.TypeDir || e.mode != 0o1777 {
		t.Fatalf("tmp/ = %+v, want a sticky world-writable dir", e)
	}
	if _, ok := got["var/lib/dpkg/status"]; !ok {
		t.Fatal("no empty dpkg status file")
	}
	if _, ok := got["usr/"]; !ok {
		t.Fatal("directory entries lost")
	}
}

func TestBuildFromASignedMirror(t *testing.T) {
	a := debrepotest.NewArchive(t, "bookworm")
	pkgs := []debrepotest.Pkg{
		{Name: "base-files", Version: "12.9", Arch: "amd64", Essential: true, Priority: "required",
			Files: []file{{Name: "./etc/debian_version", Body: "12.9\n"}}},
		{Name: "mmdebstrap", Version: "1.3.5-7", Arch: "all", Files: []file{{Name: "./usr/bin/mmdebstrap", Body: "#!/usr/bin/perl\n"}}},
		{Name: "unrelated", Version: "1", Arch: "amd64", Files: []file{{Name: "./usr/bin/unrelated", Body: "no"}}},
	}
	a.Publish(time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC), []string{"amd64"}, pkgs...)
	opts := Options{Mirror: a.URL, Suite: "bookworm", Arch: "amd64", Packages: []string{"mmdebstrap"},
		Keyring: a.Keyring, CacheDir: t.TempDir(), Epoch: time.Unix(1767225600, 0)}
	_, resolved, err := Resolve(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(resolved); !slices.Equal(got, []string{"base-files", "mmdebstrap"}) {
		t.Fatalf("packages = %v", got)
	}
	var out bytes.Buffer
	if err := Build(context.Background(), opts, DebsOf(resolved), &out); err != nil {
		t.Fatal(err)
	}
	got, _ := readTar(t, out.Bytes())
	if got["etc/debian_version"].body != "12.9\n" || got["usr/bin/mmdebstrap"].body != "#!/usr/bin/perl\n" {
		t.Fatalf("rootfs lacks the packages' files: %v", got)
	}
	if _, ok := got["usr/bin/unrelated"]; ok {
		t.Fatal("a package nobody asked for was unpacked")
	}

	// Same packages, same bytes, from the download cache or a fresh one: the seed
	// image's key can stand for its content.
	for _, cache := range []string{opts.CacheDir, t.TempDir()} {
		opts.CacheDir = cache
		var again bytes.Buffer
		if err := Build(context.Background(), opts, DebsOf(resolved), &again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatal("two builds of the same seed differ")
		}
	}

	// A mirror serving other bytes than the lock names is refused, naming the package.
	a.Replace(pkgs[1].Filename(), makeDeb(t, []file{{Name: "./usr/bin/mmdebstrap", Body: "evil"}}))
	opts.CacheDir = t.TempDir()
	err = Build(context.Background(), opts, DebsOf(resolved), io.Discard)
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "mmdebstrap" || !strings.Contains(err.Error(), "the signed index says") {
		t.Fatalf("want a sha256 mismatch naming mmdebstrap, got %v", err)
	}
}

func names(pkgs []*debrepo.Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name)
	}
	return out
}
