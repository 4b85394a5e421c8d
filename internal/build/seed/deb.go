package seed

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// DataTar opens the data.tar member of a .deb (an ar archive) and returns a tar reader
// over the package's files. close releases the decompressor.
func DataTar(deb io.Reader) (tr *tar.Reader, closeFn func(), err error) {
	br := bufio.NewReader(deb)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, nil, fmt.Errorf("not a .deb (ar archive): bad magic")
	}
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return nil, nil, fmt.Errorf("no data.tar member in the .deb: %w", err)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, nil, fmt.Errorf("corrupt ar member header %q", hdr[:16])
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("ar member %s: bad size: %w", name, err)
		}
		if !strings.HasPrefix(name, "data.tar") {
			// Members are 2-byte aligned.
			if _, err := br.Discard(int(size + size%2)); err != nil {
				return nil, nil, fmt.Errorf("skip ar member %s: %w", name, err)
			}
			continue
		}
		body := io.LimitReader(br, size)
		switch strings.TrimPrefix(name, "data.tar") {
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
