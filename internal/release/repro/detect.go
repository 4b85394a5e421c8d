package repro

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"github.com/guestforge/guestforge/internal/diskimage"
)

// Magic numbers the artifacts are recognised by: the name of a file says what it
// should be, its bytes what it is.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicNewc  = []byte("07070")
	magicELF   = []byte("\x7fELF")
	magicUstar = []byte("ustar")
)

const (
	ext4MagicOff  = 1024 + 56 // s_magic in the superblock at 1024
	erofsMagicOff = 1024
	ustarOff      = 257
)

// detect reads the head of path and says what it holds. Compressed files are looked
// into: a gzip or zstd stream of a newc or tar archive is that archive.
func detect(path string) (Kind, string, error) {
	f, err := openArtifact(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	head := make([]byte, 8192)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", "", fmt.Errorf("read %s: %w", path, err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, magicGzip), bytes.HasPrefix(head, magicZstd):
		rc, comp, err := decompress(path)
		if err != nil {
			return KindBinary, "", nil
		}
		defer rc.Close()
		inner := make([]byte, 512)
		m, _ := io.ReadFull(rc, inner)
		if k := archiveKind(inner[:m]); k != "" {
			return k, comp, nil
		}
		return KindBinary, comp, nil
	case bytes.HasPrefix(head, magicELF):
		return KindELF, "", nil
	}
	if k := archiveKind(head); k != "" {
		return k, "none", nil
	}
	if len(head) >= ext4MagicOff+2 && head[ext4MagicOff] == 0x53 && head[ext4MagicOff+1] == 0xef {
		return KindExt4, "", nil
	}
	if len(head) >= erofsMagicOff+4 && bytes.Equal(head[erofsMagicOff:erofsMagicOff+4], []byte{0xe2, 0xe1, 0xf5, 0xe0}) {
		return KindErofs, "", nil
	}
	if len(head) >= diskimage.SectorSize && head[510] == 0x55 && head[511] == 0xaa {
		if parts, err := diskimage.ReadPartitions(f); err == nil && len(parts) > 0 {
			return KindDisk, "", nil
		}
	}
	if utf8.Valid(trimPartialRune(head)) && !bytes.ContainsRune(head, 0) {
		return KindText, "", nil
	}
	return KindBinary, "", nil
}

// extractP1 copies partition 1 of the disk image at path into dir and returns the
// copy's path and its start in the image.
func extractP1(path, dir, tag string) (string, int64, error) {
	f, err := openArtifact(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	parts, err := diskimage.ReadPartitions(f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	p1 := parts[0]
	if p1.End() > st.Size() {
		return "", 0, fmt.Errorf("%s: partition 1 ends at byte %d, past the image's %d bytes: the image is truncated", path, p1.End(), st.Size())
	}
	out, err := os.CreateTemp(dir, "repro-p1-"+tag+"-*")
	if err != nil {
		return "", 0, err
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(f, p1.Start, p1.Size)); err != nil {
		os.Remove(out.Name())
		return "", 0, fmt.Errorf("copy partition 1 of %s: %w", path, err)
	}
	return out.Name(), p1.Start, nil
}

// archiveKind recognises an uncompressed archive from its first bytes.
func archiveKind(head []byte) Kind {
	switch {
	case bytes.HasPrefix(head, magicNewc):
		return KindCpio
	case len(head) >= ustarOff+5 && bytes.Equal(head[ustarOff:ustarOff+5], magicUstar):
		return KindTar
	}
	return ""
}

// trimPartialRune drops an incomplete UTF-8 sequence the 8 KiB head may have cut.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// decompress opens path and returns its content with gzip or zstd undone, and the
// compression found ("gzip", "zstd" or "none").
func decompress(path string) (io.ReadCloser, string, error) {
	f, err := openArtifact(path)
	if err != nil {
		return nil, "", err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, "", fmt.Errorf("%s: gzip: %w", path, err)
		}
		return readCloser{zr, func() error { zr.Close(); return f.Close() }}, "gzip", nil
	case bytes.HasPrefix(magic, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, "", fmt.Errorf("%s: zstd: %w", path, err)
		}
		return readCloser{zr, func() error { zr.Close(); return f.Close() }}, "zstd", nil
	}
	return readCloser{br, f.Close}, "none", nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
