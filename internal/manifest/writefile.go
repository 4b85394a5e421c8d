package manifest

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteInPlace replaces the manifest at path with data atomically, keeping
// its permissions. A symlinked manifest (a checkout that links
// toolchain.yaml from elsewhere) is written through to its target: renaming
// onto the link would turn it into a plain file and leave the target stale.
func WriteInPlace(path string, data []byte) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(target); err == nil {
		mode = st.Mode().Perm()
	}
	// The temporary file sits beside the target so the rename stays on one
	// filesystem and is atomic.
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return fmt.Errorf("write %s: cannot create a file beside it: %w (is its directory writable?)", target, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w; the file is unchanged", target, unwrapPath(err))
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("replace %s: %w; the file is unchanged", target, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the temporary file's name from an os error: it is gone
// by the time the user reads the message and names nothing they know.
func unwrapPath(err error) error {
	switch e := err.(type) {
	case *os.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}
