package dist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "2026.2.0")
	files := []string{
		"SHA256SUMS", "SHA256SUMS.sigstore.json", "provenance.intoto.jsonl", "sbom.spdx.json",
		"x86_64/vmlinuz-6.12.117-aa", "x86_64/vmlinuz-6.12.117-aa.sigstore.json", "x86_64/config-6.12.117-aa",
		"x86_64/vmlinuz-6.12.117-bb", "x86_64/initrd-default.img", "x86_64/rootfs-default.img",
		"x86_64/rootfs-default.img.verity", "x86_64/sbom-default.spdx.json", "x86_64/root_hash.txt",
		"ppc64le/vmlinux-6.12.117-aa", "ppc64le/initrd-default.img",
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Version != "2026.2.0" || len(tr.Arches) != 2 || tr.Arches[0].Arch.Name != "x86_64" || tr.Arches[1].Arch.Name != "ppc64le" {
		t.Fatalf("tree %+v", tr)
	}
	x := tr.Arches[0]
	if len(x.Kernels) != 2 || x.Kernels[0].ConfigID != "aa" || x.Kernels[0].Config != "x86_64/config-6.12.117-aa" ||
		x.Kernels[0].BootImage() != "x86_64/vmlinuz-6.12.117-aa" {
		t.Errorf("kernels %+v", x.Kernels)
	}
	if p := tr.Arches[1].Kernels[0].BootImage(); p != "ppc64le/vmlinux-6.12.117-aa" {
		t.Errorf("ppc64le boots %q, want the ELF vmlinux", p)
	}
	if len(x.Images) != 1 || x.Images[0] != (Image{Name: "default", Initrd: "x86_64/initrd-default.img",
		Rootfs: "x86_64/rootfs-default.img", Verity: "x86_64/rootfs-default.img.verity"}) {
		t.Errorf("images %+v", x.Images)
	}
	if got := strings.Join(tr.Artifacts(), ","); strings.Contains(got, "sigstore") || strings.Contains(got, "spdx") ||
		strings.Contains(got, "SHA256SUMS") || strings.Contains(got, "provenance") || len(tr.Artifacts()) != 9 {
		t.Errorf("artifacts %s", got)
	}
	if got := len(tr.Summed()); got != 12 {
		t.Errorf("summed %d files, want 12 (all but SHA256SUMS and bundles)", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	for name, setup := range map[string]func(root string){
		"alias dir":  func(root string) { os.MkdirAll(filepath.Join(root, "amd64"), 0o755) },
		"other dir":  func(root string) { os.MkdirAll(filepath.Join(root, "logs"), 0o755) },
		"nested dir": func(root string) { os.MkdirAll(filepath.Join(root, "x86_64", "sub"), 0o755) },
		"symlink":    func(root string) { os.MkdirAll(root, 0o755); os.Symlink("/etc/passwd", filepath.Join(root, "passwd")) },
	} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "v")
			setup(root)
			if _, err := Open(root); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCheckRel(t *testing.T) {
	for _, ok := range []string{"SHA256SUMS", "x86_64/vmlinuz-1-a"} {
		if err := CheckRel(ok); err != nil {
			t.Errorf("CheckRel(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "/etc/passwd", "a/../b", "a//b", "a/b/c", `a\b`, "./a"} {
		if err := CheckRel(bad); err == nil {
			t.Errorf("CheckRel(%q) accepted", bad)
		}
	}
}

// TestOpenImageNeedsAnImageFile holds what readArchDir did before it asked
// internal/artifact: verity params, a command line or a root hash list make no
// image by themselves, and malformed names are no artifact at all.
func TestOpenImageNeedsAnImageFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "v")
	for _, f := range []string{"x86_64/verity-lone.params", "x86_64/verity-lone.cmdline", "x86_64/root_hash.txt",
		"x86_64/rootfs-.img", "x86_64/vmlinux-", "x86_64/vmlinuz-6.12", "x86_64/rootfs-default.tar"} {
		p := filepath.Join(root, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	x := tr.Arches[0]
	if len(x.Images) != 0 || len(x.Kernels) != 0 || len(x.Files) != 7 {
		t.Errorf("images %+v, kernels %+v, %d files", x.Images, x.Kernels, len(x.Files))
	}
}
