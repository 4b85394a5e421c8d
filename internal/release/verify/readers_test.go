package verify_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Every file verify parses comes from whoever published the release: each
// reader refuses a file over its limit by size, before reading it, and a
// FIFO by type, before opening it (the read would block forever).
func TestReadersAreBounded(t *testing.T) {
	dir := t.TempDir()
	sparse := func(name string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(300 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		read func(string) error
		big  string // the file's name at 300 MiB
		want string // the error for it, after the path
		pre  string // what the error starts with
	}{
		{"SHA256SUMS", func(p string) error { _, err := sums.ReadFile(p); return err },
			"SHA256SUMS", " is 300 MiB; the limit for a checksum file is 16 MiB", "read checksum file: "},
		{"SBOM", func(p string) error { _, _, err := sbom.Read(p); return err },
			"sbom.spdx.json", " is 300 MiB; the limit for an SBOM is 64 MiB", "read SBOM: "},
		{"provenance", func(p string) error { _, err := provenance.Read(p); return err },
			"provenance.intoto.jsonl", " is 300 MiB; the limit for a provenance file is 16 MiB", "read provenance: "},
		{"public key", func(p string) error { _, err := sign.LoadPublicKeyFile(p); return err },
			"cosign.pub", " is 300 MiB; the limit for a key file is 64 KiB", "read public key: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := sparse(c.big)
			if err := c.read(p); err == nil || err.Error() != c.pre+p+c.want {
				t.Errorf("oversize:\ngot  %v\nwant %s", err, c.pre+p+c.want)
			}
			want := c.pre + fifo + " is a FIFO, not a regular file: pass the file itself"
			if err := c.read(fifo); err == nil || err.Error() != want {
				t.Errorf("fifo:\ngot  %v\nwant %s", err, want)
			}
		})
	}
}
