package debrepo

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// DataTar opens the data.tar member of a .deb (an ar archive) and returns a tar reader
// over the package's files. close releases the decompressor.
func DataTar(deb io.Reader) (tr *tar.Reader, closeFn func(), err error) {
	return memberTar(deb, "data.tar")
}

// maxControlBytes bounds a package's control file. The largest in Debian (long
// Depends and Description fields) are a few KiB.
const maxControlBytes = 1 * boundedio.MiB

// Control returns the control file of a .deb (./control in its control.tar): the
// stanza the archive's Packages index is made from, before the archive adds Filename,
// Size and the hashes and overrides Priority and Section.
func Control(deb io.Reader, name string) ([]byte, error) {
	tr, closeFn, err := memberTar(deb, "control.tar")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer closeFn()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: its control.tar has no control file: not a Debian binary package", name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read control.tar: %w", name, err)
		}
		if path.Clean("/"+hdr.Name) != "/control" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		return boundedio.ReadAllLimit(tr, maxControlBytes, name+":control", "a package's control file")
	}
}

// memberTar finds the first ar member of deb whose name starts with prefix
// (data.tar, control.tar) and returns a tar reader over it, decompressed by its suffix.
func memberTar(deb io.Reader, prefix string) (tr *tar.Reader, closeFn func(), err error) {
	br := bufio.NewReader(deb)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, nil, fmt.Errorf("not a .deb (ar archive): bad magic")
	}
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, nil, fmt.Errorf("no %s member in the .deb: %w", prefix, err)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, nil, fmt.Errorf("corrupt ar member header %q", hdr[:16])
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("ar member %s: bad size %q", name, strings.TrimSpace(string(hdr[48:58])))
		}
		if !strings.HasPrefix(name, prefix) {
			// Members are 2-byte aligned.
			if _, err := br.Discard(int(size + size%2)); err != nil {
				return nil, nil, fmt.Errorf("skip ar member %s: %w", name, err)
			}
			continue
		}
		body := io.LimitReader(br, size)
		switch strings.TrimPrefix(name, prefix) {
		case "":
			return tar.NewReader(body), func() {}, nil
		case ".gz":
			zr, err := gzip.NewReader(body)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return tar.NewReader(zr), func() { zr.Close() }, nil
		case ".xz":
			zr, err := xz.NewReader(body)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return tar.NewReader(zr), func() {}, nil
		case ".zst":
			zr, err := zstd.NewReader(body)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return tar.NewReader(zr), zr.Close, nil
		default:
			return nil, nil, fmt.Errorf("unsupported .deb member %s", name)
		}
	}
}
