package debrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/safepath"
)

// FlatDeb is one package of a flat repository: its verified .deb and the index facts
// the archive adds to its control file.
type FlatDeb struct {
	// Path is the .deb on disk, already verified against SHA256.
	Path string
	// Control is the .deb's control file (Control).
	Control []byte
	// Filename is where the repository serves it, relative to its root: the pool path
	// the archive used, so the index reads like the archive's.
	Filename string
	SHA256   string
	Size     int64
	// Priority is the archive's (override) priority, which may differ from the
	// control file's: mmdebstrap's variants select packages by it.
	Priority string
}

// WriteFlat makes dir a flat apt repository (`deb [trusted=yes] copy:///dir ./`) of
// exactly debs: each .deb at dir/Filename (a hard link where it can be, else a copy),
// a Packages index written from their control files, and a Release listing its hash.
// apt then resolves against this set and nothing else, which is how a locked build
// cannot install a package the lock does not name.
func WriteFlat(dir string, debs []FlatDeb, suite string, date time.Time) error {
	var idx bytes.Buffer
	for _, d := range debs {
		if err := placeDeb(dir, d); err != nil {
			return err
		}
		idx.Write(FlatStanza(d))
	}
	if err := safepath.WriteBytes(filepath.Join(dir, "Packages"), 0o644, idx.Bytes()); err != nil {
		return err
	}
	sum := sha256.Sum256(idx.Bytes())
	release := fmt.Sprintf("Origin: guestforge\nLabel: guestforge package lock\nSuite: %s\nDate: %s\nSHA256:\n %s %d Packages\n",
		suite, date.UTC().Format(time.RFC1123), hex.EncodeToString(sum[:]), idx.Len())
	return safepath.WriteBytes(filepath.Join(dir, "Release"), 0o644, []byte(release))
}

// FlatStanza is d's stanza of the Packages index: its control file with the archive's
// Priority, Filename, Size and SHA256, ending in a blank line.
func FlatStanza(d FlatDeb) []byte {
	var b bytes.Buffer
	skip := false
	for _, ln := range strings.Split(strings.TrimRight(string(d.Control), "\n"), "\n") {
		if ln != "" && (ln[0] == ' ' || ln[0] == '\t') {
			if !skip {
				b.WriteString(ln + "\n")
			}
			continue
		}
		k, _, _ := strings.Cut(ln, ":")
		// The archive's fields replace whatever the control file says of them.
		skip = strings.EqualFold(k, "Priority") || strings.EqualFold(k, "Filename") ||
			strings.EqualFold(k, "Size") || strings.EqualFold(k, "SHA256")
		if !skip {
			b.WriteString(ln + "\n")
		}
	}
	if d.Priority != "" {
		fmt.Fprintf(&b, "Priority: %s\n", d.Priority)
	}
	fmt.Fprintf(&b, "Filename: %s\nSize: %d\nSHA256: %s\n\n", d.Filename, d.Size, d.SHA256)
	return b.Bytes()
}

// ControlField returns the value of field in a control file ("" when absent).
func ControlField(control []byte, field string) string {
	for _, ln := range strings.Split(string(control), "\n") {
		if k, v, ok := strings.Cut(ln, ":"); ok && strings.EqualFold(k, field) && ln[0] != ' ' && ln[0] != '\t' {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// placeDeb puts d's .deb at dir/d.Filename. Filename comes from a lock someone may
// have edited, so it must stay inside dir.
func placeDeb(dir string, d FlatDeb) error {
	clean := path.Clean(d.Filename)
	if clean != d.Filename || path.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "../") || !strings.HasSuffix(clean, ".deb") {
		return fmt.Errorf("%q is not a relative pool path ending in .deb", d.Filename)
	}
	dst := filepath.Join(dir, filepath.FromSlash(clean))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	os.Remove(dst) // a repository is rebuilt in place; a stale link is replaced
	if err := os.Link(d.Path, dst); err == nil {
		return nil
	}
	return safepath.WriteFile(dst, 0o644, func(w io.Writer) error {
		src, err := os.Open(d.Path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
}
