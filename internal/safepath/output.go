// Package safepath keeps a command's outputs off its inputs: a path given to -o
// (or --json, --out) must not be, lie inside, hold, or be linked to a file the
// same run reads, and is written atomically so a failed run leaves what was
// there before. Users point these flags at trees they did not make, so every
// command checks the same way, here.
package safepath

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Stdout is the output name that means standard output. CheckOutput refuses it:
// a command that can print its output tests for Stdout before calling it.
const Stdout = "-"

// CheckOutput returns an error when writing out could destroy or alter one of
// inputs, or would write through a symlink:
//   - out is an existing symlink (even a dangling one): refused, never followed;
//   - out, after resolving the symlinks of its existing parents, is an input,
//     the same file as one (a hard link), inside an input directory, or a
//     directory holding an input.
//
// Inputs are resolved the same way, so a link to an input counts as the input.
// Empty inputs and Stdout are skipped (an optional flag left unset).
func CheckOutput(out string, inputs ...string) error {
	switch out {
	case "":
		return errors.New("no output path given: name the file to write")
	case Stdout:
		return errors.New(`output "-" (standard output) is not supported here: give a file path`)
	}
	st, err := os.Lstat(out)
	switch {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(out)
		return fmt.Errorf("output %s is a symlink to %s: refusing to write through it or replace it; remove the link or choose another path", out, target)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("output %s: %w", out, err)
	}
	o, err := resolve(out)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	for _, in := range inputs {
		if in == "" || in == Stdout {
			continue
		}
		i, err := resolve(in)
		if err != nil {
			return fmt.Errorf("input %s: %w", in, err)
		}
		switch {
		case o == i || sameFile(out, in):
			return fmt.Errorf("output %s is the input %s: writing it would destroy the input; choose another output path", out, in)
		case within(o, i):
			return fmt.Errorf("output %s is inside the input %s: writing it would change the input; choose an output outside it", out, in)
		case within(i, o):
			return fmt.Errorf("output %s holds the input %s: writing it could replace the input; choose an output that does not contain it", out, in)
		}
	}
	return nil
}

// resolve makes p absolute and resolves the symlinks of its longest existing
// prefix; the rest (not created yet) is kept as written.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	dir, rest := abs, ""
	for {
		r, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}

// within reports whether p lies strictly below dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// sameFile catches hard links, which resolving names cannot.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// WriteFile writes dst atomically: write fills a temporary file in dst's
// directory, which is renamed over dst only when write, the permission change
// and the close all succeeded; on any failure the temporary file is removed and
// dst is left as it was. Errors name dst, never the temporary file.
func WriteFile(dst string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, pathless(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	// os.CreateTemp makes 0600 files; outputs get the mode the caller asks for.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", dst, pathless(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, pathless(err))
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("write %s: %w", dst, pathless(err))
	}
	return nil
}

// WriteBytes is WriteFile for content already in memory.
func WriteBytes(dst string, perm fs.FileMode, data []byte) error {
	return WriteFile(dst, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// pathless drops the file names os puts in its errors, which here would be the
// temporary file's: the caller names the destination instead.
func pathless(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &le):
		return le.Err
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}
