package initrd

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how the newc stream is compressed. Every choice is
// reproducible byte for byte, whatever GOMAXPROCS is (TestCompressionDeterministic).
type Compression string

// Supported compressions; the kernel needs CONFIG_RD_GZIP / CONFIG_RD_ZSTD.
const (
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
	None Compression = "none"
)

// Compressions lists the supported values, for flag help and errors.
func Compressions() []Compression { return []Compression{Gzip, Zstd, None} }

// ParseCompression validates a --compress value.
func ParseCompression(s string) (Compression, error) {
	for _, c := range Compressions() {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown compression %q: use gzip, zstd or none", s)
}

const (
	// gzipLevel is klauspost's flate level 8. On a Debian minbase tree its
	// output is 0.2% larger than level 9's and it needs 2.7x less CPU; no
	// level of this encoder reaches GNU gzip -9's size (it never emits
	// 3-byte matches), so buying the last 0.2% is not worth it. zstd is the
	// choice when size matters (hack/bench-initrd.sh prints all three).
	gzipLevel = 8
	// gzipBlock fixes where the stream is cut into independently compressed
	// blocks. The output depends on it (and the level) only: pgzip cuts by
	// byte count and seeds each block with the previous block's last 32 KiB,
	// so the number of goroutines changes speed, never bytes.
	gzipBlock = 1 << 20
	// zstdJobs is the number of parallel zstd jobs. klauspost/zstd uses a
	// different (serial) code path when concurrency is 1, so it is a
	// constant instead of GOMAXPROCS: on one CPU the jobs simply take turns.
	zstdJobs = 4
	// zstdWindow: 8 MiB is the reference zstd default for these levels and
	// an allocation the kernel's unzstd makes without trouble; 2 MiB costs
	// 4.5% in size on a Debian tree.
	zstdWindow = 8 << 20
)

// Compress wraps w in a compressor; Close flushes it (and never closes w).
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		zw, err := pgzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, err
		}
		if err := zw.SetConcurrency(gzipBlock, max(2, runtime.GOMAXPROCS(0))); err != nil {
			return nil, err
		}
		// pgzip writes uint32(ModTime.Unix()) even for the zero time, which is
		// a 1754 date truncated to garbage; pin 0 ("no time"), as gzip -n does.
		zw.ModTime = time.Unix(0, 0)
		zw.OS = 255 // unknown: no host OS in the output
		return zw, nil
	case Zstd:
		return newZstdWriter(w, zstdWindow)
	case None:
		return nopWriteCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q: use gzip, zstd or none", c)
}

// newZstdWriter is the zstd encoder with every output-affecting setting
// fixed. Jobs are cut every 4 windows of input, so tests use a small window
// to run several jobs on little data.
func newZstdWriter(w io.Writer, window int) (io.WriteCloser, error) {
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderConcurrency(zstdJobs),
		zstd.WithConcurrentBlocks(true),
		zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(window),
	)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// Decompress detects the compression of an initrd by its magic bytes and
// returns the newc stream.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(6)
	if err != nil && len(magic) < 4 {
		return nil, "", fmt.Errorf("read initrd: too short to be an archive (%d bytes): %w", len(magic), err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("read gzip initrd: %w", err)
		}
		return zr, Gzip, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, "", fmt.Errorf("read zstd initrd: %w", err)
		}
		return zr.IOReadCloser(), Zstd, nil
	case strings.HasPrefix(string(magic), "07070"):
		return io.NopCloser(br), None, nil
	}
	return nil, "", fmt.Errorf("initrd starts with % x: not gzip, zstd or a newc cpio archive (xz/lz4 are not supported)", magic[:4])
}
