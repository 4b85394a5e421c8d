package initrd

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// compressible returns n bytes that look like a rootfs: a real binary and
// text, repeated with variation, so blocks have matches across boundaries.
func compressible(t *testing.T, n int) []byte {
	t.Helper()
	bin, err := os.ReadFile(probeFor(t, x86))
	must(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		off := rng.IntN(len(bin) - 4096)
		b.Write(bin[off : off+rng.IntN(4096)])
		for range rng.IntN(50) {
			b.WriteString("Description=guestforge unit line with some words\n")
		}
	}
	return b.Bytes()[:n]
}

func compressWith(t *testing.T, c Compression, data []byte, procs int) []byte {
	t.Helper()
	return compressWithWriter(t, func(w io.Writer) (io.WriteCloser, error) { return Compress(w, c) }, data, procs)
}

func compressWithWriter(t *testing.T, newWriter func(io.Writer) (io.WriteCloser, error), data []byte, procs int) []byte {
	t.Helper()
	prev := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(prev)
	var out bytes.Buffer
	zw, err := newWriter(&out)
	must(t, err)
	// Odd write sizes: block cuts must not depend on how callers chunk writes.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%77777)
		_, err := zw.Write(rest[:n])
		must(t, err)
		rest = rest[n:]
	}
	must(t, zw.Close())
	return out.Bytes()
}

// TestCompressionDeterministic: the same input gives the same bytes with 1,
// 2 and 8 Ps (the parallel compressors' worker counts follow GOMAXPROCS),
// and the standard tools read the result back.
func TestCompressionDeterministic(t *testing.T) {
	data := compressible(t, 5<<20+12345) // several 1 MiB gzip blocks
	for _, c := range []Compression{Gzip, Zstd} {
		first := compressWith(t, c, data, 1)
		for _, procs := range []int{2, 8} {
			if got := compressWith(t, c, data, procs); !bytes.Equal(got, first) {
				t.Errorf("%s: GOMAXPROCS=%d gives %s, GOMAXPROCS=1 gives %s", c, procs, sha(got), sha(first))
			}
		}
		rc, got, err := Decompress(bytes.NewReader(first))
		must(t, err)
		back, err := io.ReadAll(rc)
		must(t, err)
		if got != c || !bytes.Equal(back, data) {
			t.Errorf("%s: round trip detected %s, %d bytes back of %d", c, got, len(back), len(data))
		}
		if len(first) >= len(data)/2 {
			t.Errorf("%s: %d -> %d bytes: not compressing", c, len(data), len(first))
		}
		tool := map[Compression]string{Gzip: "gzip", Zstd: "zstd"}[c]
		bin := testenv.RequireTool(t, tool)
		cmd := exec.Command(bin, "-d", "-c")
		cmd.Stdin = bytes.NewReader(first)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("%s -d: %v, %d bytes back of %d", tool, err, len(out), len(data))
		}
	}
}

// TestZstdJobsDeterministic runs the zstd settings with a 256 KiB window, so
// 5 MiB of input is several parallel jobs (a job is 4 windows, at least
// 512 KiB): the job split and overlap must not depend on GOMAXPROCS. With
// the real 8 MiB window a job is 32 MiB, too much data for a -race unit
// test; hack/bench-initrd.sh packs 165 MiB with it and the boot test boots it.
func TestZstdJobsDeterministic(t *testing.T) {
	data := compressible(t, 5<<20+12345)
	small := func(w io.Writer) (io.WriteCloser, error) { return newZstdWriter(w, 256<<10) }
	first := compressWithWriter(t, small, data, 1)
	for _, procs := range []int{2, 8} {
		if got := compressWithWriter(t, small, data, procs); !bytes.Equal(got, first) {
			t.Errorf("GOMAXPROCS=%d gives %s, GOMAXPROCS=1 gives %s", procs, sha(got), sha(first))
		}
	}
	rc, _, err := Decompress(bytes.NewReader(first))
	must(t, err)
	back, err := io.ReadAll(rc)
	must(t, err)
	if !bytes.Equal(back, data) {
		t.Fatalf("round trip: %d bytes back of %d", len(back), len(data))
	}
}

// TestGzipHeader: no timestamp, no name, no flags, OS "unknown".
func TestGzipHeader(t *testing.T) {
	out := compressWith(t, Gzip, []byte("x"), 2)
	want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	if !bytes.Equal(out[:10], want) {
		t.Fatalf("gzip header % x, want % x", out[:10], want)
	}
}

func TestDecompressRejects(t *testing.T) {
	_, _, err := Decompress(bytes.NewReader([]byte{0xfd, '7', 'z', 'X', 'Z', 0}))
	if err == nil || err.Error() != "initrd starts with fd 37 7a 58: not gzip, zstd or a newc cpio archive (xz/lz4 are not supported)" {
		t.Fatalf("err = %v", err)
	}
}
