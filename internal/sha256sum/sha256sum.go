// Package sha256sum is the one place guestforge hashes a whole file or stream:
// the lowercase hex SHA-256 that sha256sum(1) prints, and the byte count read.
// Pins in toolchain.yaml, SHA256SUMS, the cut's state file and report.json all
// carry this form, so they compare as plain strings.
//
// Hashing while copying somewhere else (an io.MultiWriter next to the real
// destination) is a different operation and stays with the copy.
package sha256sum

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// File hashes the file at path. Its errors are os's (*fs.PathError), which
// name the path and whether the open or the read failed; callers add what
// they were hashing it for.
func File(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return Reader(f)
}

// Reader hashes r to its end. On a read error it returns the error as r gave
// it, with no sum.
func Reader(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
