package initrd

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A truncated archive says which archive, which member, that it is
// truncated and what to do, not a bare "unexpected EOF".
func TestTruncatedTarNamesArchiveAndMember(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := bytes.Repeat([]byte("x"), 4096)
	for _, name := range []string{"etc/hostname", "usr/bin/agent"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	// Cut inside the second member's content.
	cut := b.Bytes()[:512+4096+512+1000]
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Build(Spec{Tar: file, Init: InitAgent}, filepath.Join(t.TempDir(), "initrd.img"))
	want := file + ": tar member #2 usr/bin/agent: read content: the tar stream is truncated (it ends inside this member): " +
		"the file is incomplete (an interrupted export or download); export or fetch it again: unexpected EOF"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestTruncatedCpioNamesMember(t *testing.T) {
	tr := NewTree()
	if err := tr.AddFile("init", 0o755, bytes.Repeat([]byte("y"), 1000)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := WriteNewc(&b, tr, WriteOptions{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// The newc header is 110 bytes, the name "init\x00" pads to 116, so the
	// body starts at offset 116: cut 400 bytes into it.
	at := 116 + 400
	r := NewReader(bytes.NewReader(data[:at]))
	h, err := r.Next()
	if err != nil || h.Name != "init" {
		t.Fatalf("first header: %v %v", h, err)
	}
	_, err = io.ReadAll(r)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	want := "cpio entry init: the archive is truncated at offset 516, 400 bytes into a 1000-byte body: the file is incomplete (an interrupted download or build); fetch or build it again: unexpected EOF"
	if err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// Empty members cost memory too: the entry limit stops a tar of millions
// of directories while it is read, not after.
func TestFromTarEntryLimit(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, d := range []string{"a/", "b/", "c/", "d/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tw.Close()
	_, err := FromTar(&b, Limits{MaxEntries: 3})
	want := "tar member #4: the tree is over the limit of 3 entries; raise the limit or remove content"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
