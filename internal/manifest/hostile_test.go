package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A manifest is read whole, so a hostile one must be refused by size before
// it is read, and a FIFO by type before it is opened (a read would hang).
func TestLoadRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "toolchain.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(300 << 20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "default.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(big)
	want := "read manifest: " + big + " is 300 MiB; the limit for a manifest is 4 MiB (pass --manifest PATH to point at toolchain.yaml)"
	if err == nil || err.Error() != want {
		t.Errorf("oversize:\ngot  %v\nwant %s", err, want)
	}
	_, err = LoadImage(fifo)
	want = "read image definition: " + fifo + " is a FIFO, not a regular file: pass the file itself"
	if err == nil || err.Error() != want {
		t.Errorf("fifo:\ngot  %v\nwant %s", err, want)
	}
	_, err = Load("/dev/zero")
	want = "read manifest: /dev/zero is a character device, not a regular file: pass the file itself (pass --manifest PATH to point at toolchain.yaml)"
	if err == nil || err.Error() != want {
		t.Errorf("/dev/zero:\ngot  %v\nwant %s", err, want)
	}
}

// A file with thousands of problems prints the first twenty and a count.
func TestErrorListIsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(base)
	for i := range 500 {
		fmt.Fprintf(&b, "junk%d: 1\n", i)
	}
	_, err := Parse("toolchain.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 {
		t.Fatalf("%d lines, want 20 problems and a count:\n%s", len(lines), err)
	}
	if want := `toolchain.yaml:19:1: manifest: unknown key "junk0": allowed keys are epoch, release, policy, toolchains, kernel, firmware, distro, builders, architectures, targets`; lines[0] != want {
		t.Errorf("first line %q\nwant %q", lines[0], want)
	}
	if lines[20] != "and 480 more" {
		t.Errorf("last line %q, want %q", lines[20], "and 480 more")
	}
}
