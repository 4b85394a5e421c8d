package initrd

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// These tests pin what github.com/cavaliergopher/cpio v1.0.1 does on its own,
// so a version bump that changes it fails here, next to the workaround.

// field returns newc header field i (0 = ino ... 12 = check) of the record at off.
func field(b []byte, off, i int) string { return string(b[off+6+8*i : off+14+8*i]) }

const (
	fIno = iota
	fMode
	fUID
	fGID
	fNlink
	fMtime
	fSize
	fDevMajor
	fDevMinor
	fRdevMajor
	fRdevMinor
	fNamesize
	fCheck
)

func TestLibraryDropsRdev(t *testing.T) {
	var raw bytes.Buffer
	w := cpio.NewWriter(&raw)
	// The library has no rdev field at all; DeviceID is not written either.
	if err := w.WriteHeader(&cpio.Header{Name: "dev/console", Mode: cpio.TypeChar | 0o600, DeviceID: 0x0501, Links: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := raw.Bytes()
	if got := field(b, 0, fRdevMajor) + field(b, 0, fRdevMinor); got != "0000000000000000" {
		t.Fatalf("library now writes rdev %q: revisit headerGuard", got)
	}

	tree := NewTree()
	if err := tree.AddDevice("dev/console", KindCharDev, 5, 1, 0o600); err != nil {
		t.Fatal(err)
	}
	var ours bytes.Buffer
	if _, err := WriteNewc(&ours, tree, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Record 0 is the parent "dev", record 1 the node.
	off := recordOffset(t, ours.Bytes(), 1)
	if got := field(ours.Bytes(), off, fRdevMajor) + "," + field(ours.Bytes(), off, fRdevMinor); got != "00000005,00000001" {
		t.Fatalf("rdev = %s, want 00000005,00000001", got)
	}
	if got := field(ours.Bytes(), off, fMode); got != "00002180" {
		t.Fatalf("mode = %s, want 00002180 (char device 0600)", got)
	}
}

func TestLibraryIgnoresLinkname(t *testing.T) {
	var raw bytes.Buffer
	w := cpio.NewWriter(&raw)
	if err := w.WriteHeader(&cpio.Header{Name: "l", Mode: cpio.TypeSymlink | 0o777, Linkname: "target"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw.String(), "target") {
		t.Fatal("library now writes Linkname itself: WriteNewc would write the target twice")
	}
}

// TestLibraryMagicLeak shows the library switching its shared magic to
// 070702 for every later header once one header had a checksum, and that
// WriteNewc refuses to write such an archive rather than emit something the
// kernel rejects. It runs in a child process because the leak is global.
func TestLibraryMagicLeak(t *testing.T) {
	if os.Getenv("GUESTFORGE_MAGIC_LEAK_CHILD") == "1" {
		var raw bytes.Buffer
		w := cpio.NewWriter(&raw)
		_ = w.WriteHeader(&cpio.Header{Name: "a", Mode: cpio.TypeReg, Checksum: 1})
		_ = w.WriteHeader(&cpio.Header{Name: "b", Mode: cpio.TypeReg})
		second := bytes.Index(raw.Bytes()[6:], []byte("07070")) + 6
		os.Stdout.WriteString("library-second-magic=" + string(raw.Bytes()[second:second+6]) + "\n")
		tree := NewTree()
		_ = tree.AddFile("x", 0o644, nil)
		_, err := WriteNewc(&bytes.Buffer{}, tree, WriteOptions{})
		os.Stdout.WriteString("writenewc-error=" + strings.ReplaceAll(errString(err), "\n", " ") + "\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLibraryMagicLeak$")
	cmd.Env = append(os.Environ(), "GUESTFORGE_MAGIC_LEAK_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "library-second-magic=070702") {
		t.Fatalf("library no longer leaks the 070702 magic (good): drop the note in WriteNewc's doc\n%s", out)
	}
	if !strings.Contains(string(out), `writenewc-error=write header of x: the cpio library wrote magic "070702"; the kernel only unpacks "070701"`) {
		t.Fatalf("WriteNewc did not refuse the leaked magic:\n%s", out)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestWriteNewcRefusesOversizedFile(t *testing.T) {
	tree := NewTree()
	// The host file does not exist: the size check must come before any read.
	if err := tree.AddHostFile("big", 0o644, "/nonexistent", 1<<32); err != nil {
		t.Fatal(err)
	}
	_, err := WriteNewc(&bytes.Buffer{}, tree, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "big: 4294967296 bytes is over newc's 4 GiB file limit") {
		t.Fatalf("err = %v", err)
	}
	if _, err := WriteNewc(&bytes.Buffer{}, NewTree(), WriteOptions{Epoch: 1 << 32}); err == nil {
		t.Fatal("epoch over 32 bits accepted")
	}
}

// TestNewcGoldenBytes pins the complete archive for a small tree: layout,
// padding, inode numbering, hardlink and symlink records, trailer.
func TestNewcGoldenBytes(t *testing.T) {
	tree := NewTree()
	must(t, tree.AddFile("etc/hostname", 0o644, []byte("guest\n")))
	must(t, tree.AddHardlink("etc/hostname2", "etc/hostname"))
	must(t, tree.AddSymlink("bin", "usr/bin"))
	must(t, tree.AddDevice("dev/null", KindCharDev, 1, 3, 0o666))
	var buf bytes.Buffer
	st, err := WriteNewc(&buf, tree, WriteOptions{Epoch: 1767225600, Owners: []Owner{{Path: "etc", UID: 1000, GID: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"070701" + "00000001" + "0000A1FF" + "00000000" + "00000000" + "00000001" + "6955B900" + "00000007" + "00000000" + "00000000" + "00000000" + "00000000" + "00000004" + "00000000" + "bin\x00" + "\x00\x00" + "usr/bin" + "\x00" +
		"070701" + "00000002" + "000041ED" + "00000000" + "00000000" + "00000002" + "6955B900" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000004" + "00000000" + "dev\x00" + "\x00\x00" +
		"070701" + "00000003" + "000021B6" + "00000000" + "00000000" + "00000001" + "6955B900" + "00000000" + "00000000" + "00000000" + "00000001" + "00000003" + "00000009" + "00000000" + "dev/null\x00" + "\x00" +
		"070701" + "00000004" + "000041ED" + "000003E8" + "00000064" + "00000002" + "6955B900" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000004" + "00000000" + "etc\x00" + "\x00\x00" +
		"070701" + "00000005" + "000081A4" + "000003E8" + "00000064" + "00000002" + "6955B900" + "00000006" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000D" + "00000000" + "etc/hostname\x00" + "\x00" + "guest\n" + "\x00\x00" +
		"070701" + "00000005" + "000081A4" + "000003E8" + "00000064" + "00000002" + "6955B900" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000E" + "00000000" + "etc/hostname2\x00" +
		"070701" + "00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000B" + "00000000" + "TRAILER!!!\x00" + "\x00\x00\x00"
	if got := buf.String(); got != want {
		t.Fatalf("archive bytes differ\n got %q\nwant %q", got, want)
	}
	if st.Entries != 6 || st.ArchiveBytes != int64(len(want)) {
		t.Fatalf("stats = %+v", st)
	}
}

func recordOffset(t *testing.T, b []byte, n int) int {
	t.Helper()
	off := 0
	for i := 0; i < n; i++ {
		namesize, err := strconv.ParseInt(field(b, off, fNamesize), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		size, err := strconv.ParseInt(field(b, off, fSize), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		off += int(newcHeaderLen + namesize + pad4(newcHeaderLen+namesize) + size + pad4(size))
	}
	return off
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
