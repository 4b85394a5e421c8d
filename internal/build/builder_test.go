package build

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// testLock is a one-package lock of kind for amd64.
func testLock(kind pkglock.Kind, name, version, sum string) *pkglock.Lock {
	l := &pkglock.Lock{Path: "builders/" + name + ".lock", Kind: kind, Name: name, Suite: "bookworm",
		Mirror: "http://deb.debian.org/debian", Variant: "minbase", Include: []string{"gcc"}}
	l.Put(&pkglock.Section{Arch: "amd64", Date: time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC), Packages: []pkglock.Entry{
		{Name: "gcc", Version: version, Arch: "amd64", Priority: "optional", Size: 10, SHA256: sum, Filename: "pool/main/g/gcc/gcc.deb"}}})
	return l
}

func TestBuilderKeyIsTheLocksKey(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	base := BuilderSpec{Name: "kernel", Mirror: "http://deb.debian.org/debian", Suite: "bookworm",
		Packages: []string{"gcc"}, Arch: arch.MustParse("x86_64"), Epoch: 1767225600,
		Lock: testLock(pkglock.KindBuilder, "kernel", "4:12.2.0-3", a), Seed: testLock(pkglock.KindSeed, "seed", "1", a)}
	k := base.Key()
	if len(k) != 16 {
		t.Fatalf("key %q: want 16 hex digits", k)
	}
	// A refresh that moves no package keeps the key: warm caches stay valid.
	same := base
	same.Lock = testLock(pkglock.KindBuilder, "kernel", "4:12.2.0-3", a)
	same.Lock.Arches[0].Date = same.Lock.Arches[0].Date.AddDate(0, 1, 0)
	if same.Key() != k {
		t.Fatal("the lock's date changed the key")
	}
	for name, mutate := range map[string]func(*BuilderSpec){
		"a locked version": func(s *BuilderSpec) { s.Lock = testLock(pkglock.KindBuilder, "kernel", "4:12.2.0-4", a) },
		"a locked .deb":    func(s *BuilderSpec) { s.Lock = testLock(pkglock.KindBuilder, "kernel", "4:12.2.0-3", b) },
		"the seed's lock":  func(s *BuilderSpec) { s.Seed = testLock(pkglock.KindSeed, "seed", "1", b) },
		"arch":             func(s *BuilderSpec) { s.Arch = arch.MustParse("aarch64") },
		"epoch":            func(s *BuilderSpec) { s.Epoch++ },
		"name":             func(s *BuilderSpec) { s.Name = "rootfs" },
	} {
		s := base
		mutate(&s)
		if s.Key() == k {
			t.Errorf("changing %s kept the key", name)
		}
	}
	args := strings.Join(base.builderArgs(lockSource, "/tmp/rootfs.tar"), " ")
	want := `mmdebstrap --mode=root --variant=minbase --format=tar --aptopt=Acquire::Retries "3" --customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname" ` +
		`--customize-hook=printf 'deb http://deb.debian.org/debian bookworm main\n' > "$1/etc/apt/sources.list" --include=gcc bookworm /tmp/rootfs.tar deb [trusted=yes] copy:///var/cache/guestforge-lock ./`
	if args != want {
		t.Errorf("builder args:\n%s\nwant\n%s", args, want)
	}
}

func TestBuilderRefusesABuilderWithoutLock(t *testing.T) {
	p := &Pipeline{} // no session: the check must come before any engine call
	_, err := p.Builder(context.Background(), BuilderSpec{Name: "kernel", Arch: arch.MustParse("x86_64")})
	if err == nil || !strings.Contains(err.Error(), "builder kernel has no package lock") {
		t.Fatalf("want a missing-lock error, got %v", err)
	}
}

func TestBuilderRefusesAnUnpinnedReference(t *testing.T) {
	p := &Pipeline{} // no session: the check must come before any engine call
	for _, ref := range []string{"debian:bookworm", "ghcr.io/guestforge/builder:latest", "ghcr.io/x@sha256:abc"} {
		_, err := p.Builder(context.Background(), BuilderSpec{Name: "kernel", Digest: ref})
		if err == nil || !strings.Contains(err.Error(), "not a digest-pinned reference") {
			t.Errorf("%s: want a digest-pin error, got %v", ref, err)
		}
	}
}
