package initrd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// checkRoundTrip reads archive back with our reader and with the cpio
// library's (an independent implementation) and compares every field with
// what tree and epoch say was written.
func checkRoundTrip(t *testing.T, tree *Tree, epoch int64, archive []byte) {
	t.Helper()
	rc, _, err := Decompress(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	entries := tree.Entries()

	r := NewReader(bytes.NewReader(raw))
	lib := cpio.NewReader(bytes.NewReader(raw))
	inodeOf := map[int]uint32{}
	inoGroup := map[uint32]int{} // 0: a file with one name
	linkCount := map[int]int{}
	for _, e := range entries {
		if e.Kind == KindRegular && e.Hardlink() != 0 {
			linkCount[e.Hardlink()]++
		}
	}
	for i, e := range entries {
		h, err := r.Next()
		if err != nil {
			t.Fatalf("entry %d (%s): %v", i, e.Path, err)
		}
		if h.Name != e.Path || h.Kind() != e.Kind || h.Perm() != e.Perm&PermMask || h.UID != 0 || h.GID != 0 || h.MTime != epoch || h.Magic != newcMagic {
			t.Fatalf("entry %d: header %+v for %+v", i, h, e)
		}
		if h.RdevMajor != e.Major || h.RdevMinor != e.Minor {
			t.Fatalf("%s: rdev %d:%d, want %d:%d", e.Path, h.RdevMajor, h.RdevMinor, e.Major, e.Minor)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: body: %v", e.Path, err)
		}
		var want []byte
		switch e.Kind {
		case KindRegular:
			rc, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			want, _ = io.ReadAll(rc)
			if linkCount[e.Hardlink()] > 1 {
				if ino, ok := inodeOf[e.Hardlink()]; ok {
					// A later name of a hardlinked file: same inode, no bytes.
					if h.Inode != ino || len(body) != 0 {
						t.Fatalf("%s: hardlink inode %d (want %d), %d body bytes", e.Path, h.Inode, ino, len(body))
					}
					want = nil
				} else {
					inodeOf[e.Hardlink()] = h.Inode
				}
			}
		case KindSymlink:
			if h.Linkname != e.Linkname {
				t.Fatalf("%s -> %q, want %q", e.Path, h.Linkname, e.Linkname)
			}
		}
		var group int
		if e.Kind == KindRegular && linkCount[e.Hardlink()] > 1 {
			group = e.Hardlink()
		}
		if g, ok := inoGroup[h.Inode]; ok && (g == 0 || g != group) {
			t.Fatalf("%s: inode %d is already another file's", e.Path, h.Inode)
		}
		inoGroup[h.Inode] = group
		wantLinks := uint32(1)
		if group != 0 {
			wantLinks = uint32(linkCount[group])
		}
		if e.Kind != KindDir && h.NLink != wantLinks {
			t.Fatalf("%s: nlink %d, want %d", e.Path, h.NLink, wantLinks)
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%s: body %d bytes, want %d", e.Path, len(body), len(want))
		}

		lh, err := lib.Next()
		if err != nil {
			t.Fatalf("cpio library: entry %d (%s): %v", i, e.Path, err)
		}
		if lh.Name != h.Name || uint32(lh.Mode) != h.Mode || lh.Links != int(h.NLink) || lh.ModTime.Unix() != epoch || lh.Inode != int64(h.Inode) {
			t.Fatalf("cpio library reads %+v, we read %+v", lh, h)
		}
		if e.Kind == KindSymlink && lh.Linkname != e.Linkname {
			t.Fatalf("cpio library reads link %q", lh.Linkname)
		}
	}
	if h, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d entries: %+v, %v; want the trailer", len(entries), h, err)
	}
	if _, err := lib.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("cpio library after %d entries: %v; want EOF", len(entries), err)
	}
}

// fuzzTree builds a tree from fuzz input: up to 16 names, each added as the
// next kind in turn. Names the tree refuses (empty, "..", NUL, a file under a
// file) are skipped: refusing them is the tree's job, not the writer's.
func fuzzTree(names string, data []byte, target string, perm uint16, major, minor uint32) *Tree {
	tree := NewTree()
	var lastFile string
	for i, name := range strings.SplitN(names, "\n", 16) {
		p := uint32(perm) & PermMask
		var err error
		switch i % 7 {
		case 0:
			err = tree.AddFile(name, p, data)
			if err == nil {
				lastFile = name
			}
		case 1:
			err = tree.AddDir(name, p)
		case 2:
			err = tree.AddSymlink(name, target)
		case 3:
			err = tree.AddDevice(name, KindCharDev, major, minor, p)
		case 4:
			err = tree.AddHardlink(name, lastFile)
		case 5:
			err = tree.AddDevice(name, KindBlockDev, minor, major, p)
		case 6:
			err = tree.AddSpecial(name, KindFifo, p)
		}
		_ = err
	}
	return tree
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("etc/hostname\nbin\nusr/bin/tool\ndev/console\nalias\ndev/sda\nrun/fifo\nmore/file", []byte("hello\n"), "usr/bin", uint16(0o4755), uint32(5), uint32(1), uint32(testEpoch), uint8(0))
	f.Add("a\na/b\n../x\n/abs\n./dot//slash/\nz\n", []byte{}, "../../up", uint16(0o7777), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint8(1))
	f.Add("x", bytes.Repeat([]byte{0xff}, 3000), "/", uint16(0), uint32(1), uint32(3), uint32(0xFFFFFFFF), uint8(2))
	f.Fuzz(func(t *testing.T, names string, data []byte, target string, perm uint16, major, minor, epoch uint32, comp uint8) {
		tree := fuzzTree(names, data, target, perm, major, minor)
		// zstd costs ~100 ms per call (its parallel jobs allocate 8 MiB
		// windows), which would starve the fuzzer; its round trip is covered
		// by TestCompressionDeterministic, TestFormatListing and the boot test.
		c := []Compression{None, Gzip}[comp%2]
		var buf bytes.Buffer
		if _, err := Pack(&buf, tree, WriteOptions{Epoch: int64(epoch)}, c); err != nil {
			if strings.Contains(err.Error(), "PATH_MAX") {
				return // names over 4095 bytes are refused by design
			}
			t.Fatalf("pack: %v", err)
		}
		checkRoundTrip(t, tree, int64(epoch), buf.Bytes())
	})
}

// FuzzReader: any input gives entries or an error, never a panic or a huge
// allocation (names and link targets are bounded by PATH_MAX).
func FuzzReader(f *testing.F) {
	var seed bytes.Buffer
	tree := fuzzTree("etc/hostname\nbin\nusr/bin/tool\ndev/console", []byte("x"), "usr/bin", 0o755, 5, 1)
	if _, err := WriteNewc(&seed, tree, WriteOptions{Epoch: testEpoch}); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	f.Add([]byte("070702"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for range 10000 {
			if _, err := r.Next(); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
	})
}

func TestReaderChecks(t *testing.T) {
	var good bytes.Buffer
	tree := NewTree()
	must(t, tree.AddFile("f", 0o644, []byte("abc")))
	_, err := WriteNewc(&good, tree, WriteOptions{})
	must(t, err)

	crc := bytes.Clone(good.Bytes())
	copy(crc[5:6], "2")
	copy(crc[102:110], "00000126") // 'a'+'b'+'c' = 0x126
	hs, _, err := List(bytes.NewReader(crc))
	if err != nil || len(hs) != 1 || hs[0].Magic != "070702" || hs[0].Checksum != 0x126 {
		t.Fatalf("070702 archive: %+v, %v", hs, err)
	}
	copy(crc[102:110], "00000127")
	if _, _, err := List(bytes.NewReader(crc)); err == nil || err.Error() != "cpio entry f: checksum 00000126, header says 00000127: the archive is corrupt" {
		t.Fatalf("bad checksum: %v", err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good.Bytes()[:good.Len()-20], "cpio archive truncated at offset"},
		{"no trailer", good.Bytes()[:116], "without a TRAILER!!! record"},
		{"old binary cpio", []byte("070707" + strings.Repeat("0", 200)), `magic "070707" is not newc`},
		{"bad hex", append([]byte("070701zz"), good.Bytes()[8:]...), `field 0 "zz000001" is not hex`},
	} {
		_, _, err := List(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestFormatListing(t *testing.T) {
	tree := NewTree()
	must(t, tree.AddDevice("dev/console", KindCharDev, 5, 1, 0o600))
	must(t, tree.AddSymlink("bin", "usr/bin"))
	must(t, tree.AddFile("usr/bin/su", 0o4755, []byte("x")))
	must(t, tree.AddDir("tmp", 0o1777))
	var buf bytes.Buffer
	_, err := Pack(&buf, tree, WriteOptions{Epoch: testEpoch, Owners: []Owner{{Path: "usr/bin/su", UID: 0, GID: 42}}}, Zstd)
	must(t, err)
	hs, c, err := List(&buf)
	must(t, err)
	var lines []string
	for _, h := range hs {
		lines = append(lines, FormatListing(h))
	}
	want := []string{
		"lrwxrwxrwx 0/0          7 2026-01-01T00:00:00Z bin -> usr/bin",
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z dev",
		"crw------- 0/0        5,1 2026-01-01T00:00:00Z dev/console",
		"drwxrwxrwt 0/0          0 2026-01-01T00:00:00Z tmp",
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z usr",
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z usr/bin",
		"-rwsr-xr-x 0/42          1 2026-01-01T00:00:00Z usr/bin/su",
	}
	if c != Zstd || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s listing:\n%s\nwant:\n%s", c, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestFormatListingEscapesHostileNames: a member name is attacker-chosen bytes;
// printed raw, "\x1b[2J" clears the user's screen and "\n" forges a listing line.
func TestFormatListingEscapesHostileNames(t *testing.T) {
	tree := NewTree()
	must(t, tree.AddFile("evil\x1b[2J\nname", 0o644, []byte("x")))
	must(t, tree.AddSymlink("link", "\x1b]0;pwned\a"))
	must(t, tree.AddFile("bad-utf8-\xff\xfe", 0o644, nil))
	must(t, tree.AddFile("bidi-\u202egnp.exe", 0o644, nil))
	must(t, tree.AddFile(`back\slash`, 0o644, nil))
	must(t, tree.AddFile("caf\u00e9 menu", 0o644, nil))
	var buf bytes.Buffer
	_, err := Pack(&buf, tree, WriteOptions{Epoch: testEpoch}, None)
	must(t, err)
	hs, _, err := List(&buf)
	must(t, err)
	var lines []string
	for _, h := range hs {
		lines = append(lines, FormatListing(h))
	}
	got := strings.Join(lines, "\n")
	want := strings.Join([]string{
		`-rw-r--r-- 0/0          0 2026-01-01T00:00:00Z back\\slash`,
		`-rw-r--r-- 0/0          0 2026-01-01T00:00:00Z bad-utf8-\xff\xfe`,
		`-rw-r--r-- 0/0          0 2026-01-01T00:00:00Z bidi-\u202egnp.exe`,
		"-rw-r--r-- 0/0          0 2026-01-01T00:00:00Z caf\u00e9 menu",
		`-rw-r--r-- 0/0          1 2026-01-01T00:00:00Z evil\x1b[2J\x0aname`,
		`lrwxrwxrwx 0/0         10 2026-01-01T00:00:00Z link -> \x1b]0;pwned\x07`,
	}, "\n")
	if got != want {
		t.Fatalf("listing:\n%s\nwant:\n%s", got, want)
	}
}

// TestListStopsAtTheEntryLimit: List holds every header, so an archive with more
// members than an initrd has is refused instead of read into memory.
func TestListStopsAtTheEntryLimit(t *testing.T) {
	tree := NewTree()
	for i := range 5 {
		if err := tree.AddFile(fmt.Sprintf("f%d", i), 0o644, nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := Pack(&buf, tree, WriteOptions{}, None); err != nil {
		t.Fatal(err)
	}
	if hdrs, _, err := listLimit(bytes.NewReader(buf.Bytes()), 5); err != nil || len(hdrs) != 5 {
		t.Fatalf("5 entries at a limit of 5: %d, %v", len(hdrs), err)
	}
	if _, _, err := listLimit(bytes.NewReader(buf.Bytes()), 4); err == nil || !strings.Contains(err.Error(), "more than 4 entries") {
		t.Fatalf("5 entries at a limit of 4: %v", err)
	}
}
