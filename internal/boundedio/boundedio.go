// Package boundedio reads whole files and streams into memory with a cap.
// Everything guestforge parses may come from someone else (a registry, a
// feed, a downloaded release), and an unbounded read of a hostile input is
// an out-of-memory crash, or a hang on a FIFO or /dev/zero. So every such
// read goes through here: a limit per kind of input, named in the error,
// and special files refused by type before they are opened.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Common sizes, so limits read as what they are.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// TooLargeError is returned when an input is over its limit.
type TooLargeError struct {
	Name  string // the file or stream, as the caller named it
	What  string // the kind of input, e.g. "a manifest"
	Size  int64  // the size when known (a file), else -1
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("%s is %s; the limit for %s is %s", e.Name, FormatSize(e.Size), e.What, FormatSize(e.Limit))
	}
	return fmt.Sprintf("%s is larger than %s, the limit for %s: it is not what it claims to be, or it is damaged", e.Name, FormatSize(e.Limit), e.What)
}

// NotRegularError is returned for a device, FIFO, socket or directory
// where a regular file was expected.
type NotRegularError struct {
	Name string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: pass the file itself", e.Name, DescribeType(e.Mode))
}

// CheckRegular refuses anything at path that is not a regular file, after
// following symlinks (a symlinked manifest is fine; a symlink to /dev/zero
// is not). It does not open the file: opening a FIFO blocks.
func CheckRegular(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Name: path, Mode: fi.Mode()}
	}
	return fi, nil
}

// ReadFileLimit reads the regular file at path when it is at most limit
// bytes; what names the kind of input in the error ("a manifest").
func ReadFileLimit(path string, limit int64, what string) ([]byte, error) {
	if _, err := CheckRegular(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stat the open file too: the path may have been swapped since.
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Name: path, Mode: fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, &TooLargeError{Name: path, What: what, Size: fi.Size(), Limit: limit}
	}
	b, err := readAll(f, limit)
	if err != nil {
		var tl *TooLargeError
		if errors.As(err, &tl) {
			// The file grew while being read.
			tl.Name, tl.What = path, what
			return nil, tl
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// ReadAllLimit reads r to the end when it holds at most limit bytes; name
// says what r is (a URL, a layer digest) and what the kind of input.
func ReadAllLimit(r io.Reader, limit int64, name, what string) ([]byte, error) {
	b, err := readAll(r, limit)
	var tl *TooLargeError
	if errors.As(err, &tl) {
		tl.Name, tl.What = name, what
		return nil, tl
	}
	return b, err
}

// readAll reads one byte past the limit, so that exactly limit bytes is
// accepted and limit+1 is refused.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Size: -1, Limit: limit}
	}
	return b, nil
}

// FormatSize renders n bytes in the largest binary unit that keeps it
// readable: 4 MiB, 300 MiB, 1.5 GiB, 512 bytes.
func FormatSize(n int64) string {
	units := []struct {
		size int64
		name string
	}{{GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}}
	for _, u := range units {
		if n >= u.size {
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(n)/float64(u.size), u.name)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// DescribeType names what a non-regular file is, with its article ("a FIFO"),
// for the errors that refuse it.
func DescribeType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// Errors caps a list of errors for a message: the first max, then a line
// saying how many more there were, so a hostile input with a million
// problems gives a readable answer instead of a million lines.
func Errors(errs []error, max int) error {
	if len(errs) <= max {
		return errors.Join(errs...)
	}
	out := append([]error(nil), errs[:max]...)
	out = append(out, fmt.Errorf("and %d more", len(errs)-max))
	return errors.Join(out...)
}
