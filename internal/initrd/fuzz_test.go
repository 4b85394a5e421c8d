package initrd

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
)

func tarOf(f *testing.F, members ...*tar.Header) []byte {
	f.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range members {
		if err := tw.WriteHeader(h); err != nil {
			f.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("a"), int(h.Size)))
		}
	}
	tw.Close()
	return b.Bytes()
}

// FuzzFromTar feeds arbitrary bytes as the tar a pipeline hands over. It
// must end in a tree or an error, never a panic or an allocation beyond
// the limits, and a tree it accepts must pack into a newc archive that the
// reader reads back entry for entry.
func FuzzFromTar(f *testing.F) {
	f.Add(tarOf(f,
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5},
		&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"},
		&tar.Header{Name: "bin/ls", Typeflag: tar.TypeLink, Linkname: "etc/hostname"},
		&tar.Header{Name: "dev/console", Typeflag: tar.TypeChar, Mode: 0o600, Devmajor: 5, Devminor: 1},
		&tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o644},
	))
	f.Add(tarOf(f, &tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(tarOf(f, &tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 2 << 20})[:4096])
	f.Add([]byte{})
	limits := Limits{MaxTotalBytes: 1 << 20, MaxFileBytes: 1 << 20, MaxEntries: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := FromTar(bytes.NewReader(data), limits)
		if err != nil {
			return
		}
		var out bytes.Buffer
		st, err := WriteNewc(&out, tree, WriteOptions{Epoch: 1})
		if err != nil {
			return // a tree can be refused at write time (dangling hardlink...)
		}
		r := NewReader(&out)
		n := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading back what WriteNewc wrote: %v", err)
			}
			n++
		}
		if n != st.Entries {
			t.Fatalf("read %d entries back, wrote %d", n, st.Entries)
		}
	})
}
