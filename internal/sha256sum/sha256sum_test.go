package sha256sum

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// Digests from FIPS 180-2 and sha256sum(1).
var known = []struct {
	name, in, sum string
}{
	{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"newline", "abc\n", "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb"},
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(p, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			sum, n, err := File(p)
			if err != nil || sum != tc.sum || n != int64(len(tc.in)) {
				t.Errorf("File(%q) = %s, %d, %v; want %s, %d", tc.in, sum, n, err, tc.sum, len(tc.in))
			}
		})
	}
}

func TestReader(t *testing.T) {
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time: the sum must not depend on how the reader splits.
			sum, n, err := Reader(iotest.OneByteReader(strings.NewReader(tc.in)))
			if err != nil || sum != tc.sum || n != int64(len(tc.in)) {
				t.Errorf("Reader(%q) = %s, %d, %v; want %s, %d", tc.in, sum, n, err, tc.sum, len(tc.in))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		run  func() (string, error)
		op   string // the fs.PathError's Op, "" when the error is not one
		is   error
	}{
		{"missing file", func() (string, error) { s, _, err := File(missing); return s, err }, "open", fs.ErrNotExist},
		{"directory", func() (string, error) { s, _, err := File(dir); return s, err }, "read", nil},
		{"broken reader", func() (string, error) {
			s, _, err := Reader(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF)))
			return s, err
		}, "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := tc.run()
			if err == nil || sum != "" {
				t.Fatalf("got %q, %v; want no sum and an error", sum, err)
			}
			var pe *fs.PathError
			if tc.op != "" && (!errors.As(err, &pe) || pe.Op != tc.op) {
				t.Errorf("error %v is not a %s PathError", err, tc.op)
			}
			if tc.op != "" && !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v does not name the path", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}
