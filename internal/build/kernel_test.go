package build

import (
	"maps"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

// TestKernelFiles pins what a kernel build exports, per arch: the names
// docs/architecture.md documents, each from the file kbuild leaves it in.
func TestKernelFiles(t *testing.T) {
	common := map[string]string{
		"vmlinux-6.12.117-3f2a9c1d0e4b":    "/build/vmlinux",
		"config-6.12.117-3f2a9c1d0e4b":     "/build/.config",
		"System.map-6.12.117-3f2a9c1d0e4b": "/build/System.map",
	}
	with := func(image string) map[string]string {
		m := maps.Clone(common)
		m["vmlinuz-6.12.117-3f2a9c1d0e4b"] = image
		return m
	}
	want := map[string]map[string]string{
		"x86_64":  with("/build/arch/x86/boot/bzImage"),
		"aarch64": with("/build/arch/arm64/boot/Image"),
		"s390x":   with("/build/arch/s390/boot/bzImage"),
		"ppc64le": common, // boots the ELF: no vmlinuz
	}
	for _, a := range arch.All() {
		w, ok := want[a.Name]
		if !ok {
			t.Errorf("no expectation for arch %s: add one", a.Name)
			continue
		}
		if got := kernelFiles(a, &Kernel{Release: "6.12.117", ConfigID: "3f2a9c1d0e4b"}, objPath); !maps.Equal(got, w) {
			t.Errorf("kernelFiles(%s) = %v, want %v", a.Name, got, w)
		}
	}
}
