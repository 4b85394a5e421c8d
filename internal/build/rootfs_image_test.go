package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

const imageYAML = `# a test image
name: test
distro: {name: debian, suite: bookworm}
init: agent
agent: {bootprobe: true}
packages: [iptables, kmod,   # the firewall and modules
  ca-certificates, xz-utils]
budget: 64MiB
`

func testImageDef(t *testing.T) *imageDef {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "test.yaml")
	if err := os.WriteFile(file, []byte(imageYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := manifest.LoadImage(file)
	if err != nil {
		t.Fatal(err)
	}
	return &imageDef{Image: img, File: "images/test.yaml", text: []byte(imageYAML)}
}

func TestImageDefLines(t *testing.T) {
	d := testImageDef(t)
	for word, want := range map[string]string{
		"kmod": "images/test.yaml:6", "ca-certificates": "images/test.yaml:7", "xz-utils": "images/test.yaml:7",
		"firewall": "images/test.yaml", // only in a comment
		"utils":    "images/test.yaml", // part of a name, not a name
	} {
		if got := d.at(word); got != want {
			t.Errorf("at(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestMmdebstrapErrorNamesThePackage(t *testing.T) {
	d := testImageDef(t)
	spec := rawSpec{Suite: "bookworm", Arch: arch.MustParse("aarch64")}
	stderr := "I: automatically chosen format: tar\nReading package lists...\nE: Unable to locate package xz-utils\nE: apt-get --yes failed\n"
	err := d.mmdebstrapError(spec, &dagger.ExecError{ExitCode: 1, Stderr: stderr})
	for _, want := range []string{`image test: package "xz-utils" is not in Debian bookworm for arm64`, `"Unable to locate package xz-utils"`, "images/test.yaml:7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	other := d.mmdebstrapError(spec, &dagger.ExecError{ExitCode: 25, Stderr: "E: mount: permission denied\n"})
	if !strings.Contains(other.Error(), "exit 25") || !strings.Contains(other.Error(), "permission denied") {
		t.Errorf("other failures must quote mmdebstrap: %v", other)
	}
	plain := d.mmdebstrapError(spec, errors.New("session closed"))
	if !strings.Contains(plain.Error(), "session closed") {
		t.Errorf("non-exec errors must be kept: %v", plain)
	}
}

func TestRawSpec(t *testing.T) {
	l := testLock(pkglock.KindImage, "test", "4:12.2.0-3", strings.Repeat("a", 64))
	a := rawSpec{Mirror: "http://deb.debian.org/debian", Suite: "bookworm", Variant: "minbase", Arch: arch.MustParse("x86_64"),
		Packages: []string{"kmod", "iptables", "kmod"}, Epoch: 1, Builder: "b", Lock: l, Section: l.Arches[0]}
	other := testLock(pkglock.KindImage, "test", "4:12.2.0-4", strings.Repeat("a", 64))
	for _, change := range []func(*rawSpec){
		func(s *rawSpec) { s.Arch = arch.MustParse("aarch64") },
		func(s *rawSpec) { s.Epoch = 2 },
		func(s *rawSpec) { s.Variant = "required" },
		func(s *rawSpec) { s.Builder = "c" },
		func(s *rawSpec) { s.Lock, s.Section = other, other.Arches[0] },
	} {
		c := a
		change(&c)
		if c.Key() == a.Key() {
			t.Errorf("%+v has the key of %+v", c, a)
		}
	}
	// The lock stands for the suite, mirror and packages: the same lock, the same key.
	b := a
	b.Packages, b.Mirror = []string{"iptables"}, "http://mirror.example/debian"
	if b.Key() != a.Key() {
		t.Error("fields the lock's digest covers changed the key")
	}
	args := strings.Join(a.mmdebstrapArgs("/out/raw.tar"), " ")
	want := `mmdebstrap --mode=root --variant=minbase --architectures=amd64 --format=tar --customize-hook=printf 'deb http://deb.debian.org/debian bookworm main\n' > "$1/etc/apt/sources.list" --include=iptables,kmod bookworm /out/raw.tar deb [trusted=yes] copy:///var/cache/guestforge-lock ./`
	if args != want {
		t.Errorf("mmdebstrap args:\n%s\nwant\n%s", args, want)
	}
	args = strings.Join(a.resolveArgs("/out/raw.tar"), " ")
	want = `mmdebstrap --mode=root --variant=minbase --architectures=amd64 --format=tar --aptopt=Acquire::Retries "3" --skip=essential/unlink --setup-hook=mkdir -p "$1"/var/cache/apt/archives/ --setup-hook=sync-in /var/cache/guestforge-debs /var/cache/apt/archives/ --customize-hook=sync-out /var/cache/apt/archives /var/cache/guestforge-debs --include=iptables,kmod bookworm /out/raw.tar deb http://deb.debian.org/debian bookworm main`
	if args != want {
		t.Errorf("resolve args:\n%s\nwant\n%s", args, want)
	}
}
