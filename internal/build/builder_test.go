package build

import (
	"context"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

func TestBuilderKeyIsAContentKey(t *testing.T) {
	base := BuilderSpec{Name: "kernel", Mirror: "http://deb.debian.org/debian", Suite: "bookworm",
		Packages: []string{"gcc", "make", "bc"}, Arch: arch.MustParse("x86_64"), Epoch: 1767225600}
	k := base.Key()
	if len(k) != 16 {
		t.Fatalf("key %q: want 16 hex digits", k)
	}
	same := base
	same.Packages = []string{"make", "bc", "gcc", "gcc"}
	if same.Key() != k {
		t.Fatal("package order or duplicates changed the key")
	}
	for name, mutate := range map[string]func(*BuilderSpec){
		"suite":    func(s *BuilderSpec) { s.Suite = "trixie" },
		"package":  func(s *BuilderSpec) { s.Packages = []string{"gcc", "make", "bc", "flex"} },
		"arch":     func(s *BuilderSpec) { s.Arch = arch.MustParse("aarch64") },
		"epoch":    func(s *BuilderSpec) { s.Epoch++ },
		"mirror":   func(s *BuilderSpec) { s.Mirror = "http://mirror.example/debian" },
		"name":     func(s *BuilderSpec) { s.Name = "rootfs" },
		"packages": func(s *BuilderSpec) { s.Packages = nil },
	} {
		s := base
		s.Packages = append([]string(nil), base.Packages...)
		mutate(&s)
		if s.Key() == k {
			t.Errorf("changing the %s kept the key", name)
		}
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
