package boundedio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFileLimit(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact.yaml")
	if err := os.WriteFile(exact, []byte("12345678"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFileLimit(exact, 8, "a manifest")
	if err != nil || string(b) != "12345678" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	big := filepath.Join(dir, "toolchain.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 300 MiB on paper, nothing on disk.
	if err := f.Truncate(300 * MiB); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFileLimit(big, 4*MiB, "a manifest")
	want := big + " is 300 MiB; the limit for a manifest is 4 MiB"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != 300*MiB {
		t.Fatalf("not a TooLargeError with the size: %#v", err)
	}
}

func TestReadFileLimitRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "feed.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{fifo, fifo + " is a FIFO, not a regular file: pass the file itself"},
		{sock, sock + " is a socket, not a regular file: pass the file itself"},
		{"/dev/zero", "/dev/zero is a character device, not a regular file: pass the file itself"},
		{link, link + " is a character device, not a regular file: pass the file itself"},
		{dir, dir + " is a directory, not a regular file: pass the file itself"},
	} {
		// A FIFO would block the read forever: the refusal must come first.
		_, err := ReadFileLimit(c.path, MiB, "a feed")
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v\nwant %s", c.path, err, c.want)
		}
	}
}

func TestReadAllLimit(t *testing.T) {
	b, err := ReadAllLimit(strings.NewReader("abcd"), 4, "https://go.dev/dl/", "the Go release feed")
	if err != nil || string(b) != "abcd" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ReadAllLimit(f, 2*MiB, "layer sha256:00", "an OCI layer")
	want := "layer sha256:00 is larger than 2 MiB, the limit for an OCI layer: it is not what it claims to be, or it is damaged"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{1: "1 byte", 512: "512 bytes", KiB: "1 KiB", 1536: "1.5 KiB", 4 * MiB: "4 MiB", 3 * GiB / 2: "1.5 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestErrorsCapped(t *testing.T) {
	var errs []error
	for i := range 25 {
		errs = append(errs, fmt.Errorf("e%d", i))
	}
	got := Errors(errs, 20).Error()
	lines := strings.Split(got, "\n")
	if len(lines) != 21 || lines[0] != "e0" || lines[19] != "e19" || lines[20] != "and 5 more" {
		t.Fatalf("got %q", got)
	}
	if got := Errors(errs[:2], 20).Error(); got != "e0\ne1" {
		t.Fatalf("under the cap: %q", got)
	}
}
