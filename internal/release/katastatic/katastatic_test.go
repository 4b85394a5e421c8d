package katastatic

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/dist"
)

const params = "root_hash=4f3e,salt=ab12,data_blocks=256,data_block_size=4096,hash_block_size=4096\n"

func fixture(t *testing.T) *dist.Tree {
	t.Helper()
	dir := t.TempDir()
	a := filepath.Join(dir, "x86_64")
	if err := os.MkdirAll(a, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"vmlinux-6.12.117-aaaaaaaaaaaa": "ELF default",
		"vmlinuz-6.12.117-aaaaaaaaaaaa": "bzImage default",
		"vmlinuz-6.12.117-cccccccccccc": "bzImage confidential",
		"initrd-default.img":            "initrd",
		"rootfs-systemd.img":            "disk systemd",
		"verity-systemd.params":         params,
		"rootfs-default.img":            "disk default",
	} {
		if err := os.WriteFile(filepath.Join(a, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := dist.OpenSkipping(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func opts() Options {
	return Options{Arch: "x86_64", KernelVariants: map[string]string{"aaaaaaaaaaaa": "default", "cccccccccccc": "confidential"},
		Image: "systemd", Initrd: "default", Distro: "debian", DistroVersion: "bookworm", Epoch: 1767225600}
}

// TestWriteKataDeployTree: every name and link kata-deploy installs, with the
// dist file's bytes behind it, and the same bytes on a second write.
func TestWriteKataDeployTree(t *testing.T) {
	tr := fixture(t)
	var a, b bytes.Buffer
	names, err := Write(&a, tr, opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b, tr, opts()); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
		t.Fatal("two exports of the same tree differ")
	}
	want := map[string]string{
		"./opt/kata/share/kata-containers/vmlinux-6.12.117-aaaaaaaaaaaa":              "ELF default",
		"./opt/kata/share/kata-containers/vmlinux.container":                          "-> vmlinux-6.12.117-aaaaaaaaaaaa",
		"./opt/kata/share/kata-containers/vmlinuz-6.12.117-aaaaaaaaaaaa":              "bzImage default",
		"./opt/kata/share/kata-containers/vmlinuz.container":                          "-> vmlinuz-6.12.117-aaaaaaaaaaaa",
		"./opt/kata/share/kata-containers/vmlinuz-6.12.117-cccccccccccc-confidential": "bzImage confidential",
		"./opt/kata/share/kata-containers/vmlinuz-confidential.container":             "-> vmlinuz-6.12.117-cccccccccccc-confidential",
		"./opt/kata/share/kata-containers/kata-debian-bookworm.image":                 "disk systemd",
		"./opt/kata/share/kata-containers/kata-containers.img":                        "-> kata-debian-bookworm.image",
		"./opt/kata/share/kata-containers/root_hash_base.txt":                         params,
		"./opt/kata/share/kata-containers/kata-debian-bookworm.initrd":                "initrd",
		"./opt/kata/share/kata-containers/kata-containers-initrd.img":                 "-> kata-debian-bookworm.initrd",
	}
	got := map[string]string{}
	r := tar.NewReader(&a)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			got[h.Name] = "-> " + h.Linkname
		case tar.TypeReg:
			body, _ := io.ReadAll(r)
			got[h.Name] = string(body)
		}
		if h.ModTime.Unix() != 1767225600 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %d uid %d gid %d", h.Name, h.ModTime.Unix(), h.Uid, h.Gid)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tarball members:\n%v\nwant\n%v", got, want)
	}
	if len(names) != len(want) {
		t.Errorf("Write reported %d names, the tarball has %d", len(names), len(want))
	}
}

func TestWriteRefuses(t *testing.T) {
	tr := fixture(t)
	for _, c := range []struct {
		name   string
		change func(*Options)
		err    string
	}{
		{"unknown kernel", func(o *Options) { delete(o.KernelVariants, "cccccccccccc") }, "kernel 6.12.117-cccccccccccc was not built from any variant"},
		{"test kernel without TestAsDefault", func(o *Options) { o.KernelVariants["cccccccccccc"] = "test" }, "the test variant, which kata-deploy has no name for"},
		{"missing image", func(o *Options) { o.Image = "gpu" }, `has no image of image "gpu"`},
		{"other arch", func(o *Options) { o.Arch = "aarch64" }, "has no aarch64 directory (it has x86_64)"},
	} {
		o := opts()
		c.change(&o)
		var buf bytes.Buffer
		_, err := Write(&buf, tr, o)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
		}
	}
	// A make tree's test kernel may stand in for the default one when asked.
	o := opts()
	o.KernelVariants = map[string]string{"aaaaaaaaaaaa": "test", "cccccccccccc": "confidential"}
	o.TestAsDefault = true
	var buf bytes.Buffer
	names, err := Write(&buf, tr, o)
	if err != nil || !strings.Contains(strings.Join(names, " "), "vmlinux.container") {
		t.Fatalf("TestAsDefault: %v %v", names, err)
	}
}
