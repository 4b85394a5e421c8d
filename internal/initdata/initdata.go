// Package initdata computes what a Kata Containers confidential guest binds
// its initdata document to: the digest of the document's bytes, in the
// algorithm the document names, cut or zero-padded to the width of the TEE
// field that carries it (SNP HOST_DATA, TDX MRCONFIGID, CCA personalization
// value, IBM SE user data).
//
// The digest covers the file exactly as written, not a canonical form: that
// is what Kata's runtimes hash (src/libs/kata-types/src/initdata.rs,
// src/runtime/pkg/oci/utils.go) and what trustee's attestation service
// checks (kbs/docs/initdata.md), so re-indenting the file changes it.
package initdata

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// MaxSize caps an initdata document. Kata carries it in a pod annotation or
// a small disk image; a policy of a few hundred KiB is already large.
const MaxSize = 4 << 20

// Version is the one initdata version Kata accepts.
const Version = "0.1.0"

// fieldSize is the width of the field each platform binds the digest into.
var fieldSize = map[string]int{"snp": 32, "tdx": 48, "cca": 64, "se": 256}

// Platforms lists the accepted platform names, sorted.
func Platforms() []string {
	p := make([]string, 0, len(fieldSize))
	for k := range fieldSize {
		p = append(p, k)
	}
	slices.Sort(p)
	return p
}

var algorithms = map[string]func() hash.Hash{"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}

// Document is a validated initdata document.
type Document struct {
	Version   string
	Algorithm string
	Data      map[string]string
}

// DocumentError is what is wrong with a document, at a line when the
// problem has one (Line 0 means the document as a whole).
type DocumentError struct {
	File string
	Line int
	Msg  string
}

func (e *DocumentError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Parse validates src as Kata validates it: TOML whose version is 0.1.0,
// whose algorithm is sha256, sha384 or sha512, and whose data is a table of
// strings. Other top-level keys are allowed, as Kata ignores them.
func Parse(src []byte) (*Document, error) {
	root, err := parseTOML(src)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return nil, &DocumentError{Line: se.Line, Msg: se.Msg}
		}
		return nil, err
	}
	d := &Document{Data: map[string]string{}}
	if d.Version, err = topString(root, "version", `version = "0.1.0"`); err != nil {
		return nil, err
	}
	if d.Version != Version {
		return nil, &DocumentError{Line: root.entries["version"].line,
			Msg: fmt.Sprintf("version %q: Kata accepts only %q", d.Version, Version)}
	}
	if d.Algorithm, err = topString(root, "algorithm", `algorithm = "sha384"`); err != nil {
		return nil, err
	}
	if _, ok := algorithms[d.Algorithm]; !ok {
		return nil, &DocumentError{Line: root.entries["algorithm"].line, Msg: fmt.Sprintf(
			"algorithm %q: Kata accepts sha256, sha384 or sha512 (without a hyphen)", d.Algorithm)}
	}
	n, ok := root.entries["data"]
	switch {
	case !ok:
		return nil, &DocumentError{Msg: "no [data] table: Kata requires one, even if empty"}
	case n.tab == nil:
		return nil, &DocumentError{Line: n.line, Msg: "data is a string; it must be a [data] table of strings"}
	}
	for k, v := range n.tab.entries {
		if v.str == nil {
			return nil, &DocumentError{Line: v.line, Msg: fmt.Sprintf(
				"data.%s is a table; every data entry must be a string (a file's contents in ''' quotes)", k)}
		}
		d.Data[k] = *v.str
	}
	return d, nil
}

func topString(root *table, key, example string) (string, error) {
	n, ok := root.entries[key]
	switch {
	case !ok:
		return "", &DocumentError{Msg: fmt.Sprintf("no %s key at the top of the document: add %s before [data]", key, example)}
	case n.str == nil:
		return "", &DocumentError{Line: n.line, Msg: fmt.Sprintf("%s is a table; it must be a string (%s)", key, example)}
	}
	return *n.str, nil
}

// Digest validates src and returns the bytes platform binds: the digest of
// src in the document's algorithm, truncated at the end or zero-padded to
// the field's width.
func Digest(src []byte, platform string) ([]byte, error) {
	size, ok := fieldSize[platform]
	if !ok {
		return nil, fmt.Errorf("unknown platform %q: pass one of %s", platform, strings.Join(Platforms(), ", "))
	}
	d, err := Parse(src)
	if err != nil {
		return nil, err
	}
	h := algorithms[d.Algorithm]()
	h.Write(src)
	out := make([]byte, size)
	copy(out, h.Sum(nil))
	return out, nil
}

// FileDigest is Digest over a file, with its errors naming file:line.
func FileDigest(path, platform string) ([]byte, error) {
	src, err := boundedio.ReadFileLimit(path, MaxSize, "an initdata document")
	if err != nil {
		return nil, err
	}
	out, err := Digest(src, platform)
	var de *DocumentError
	if errors.As(err, &de) {
		de.File = path
	}
	return out, err
}

// DecodeAnnotation reads the value of Kata's
// io.katacontainers.config.hypervisor.cc_init_data annotation,
// base64(gzip(document)), back into the document's bytes.
func DecodeAnnotation(s string) ([]byte, error) {
	gz, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("the initdata annotation is not standard base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("the initdata annotation is not gzip data: %w", err)
	}
	b, err := boundedio.ReadAllLimit(zr, MaxSize, "the initdata annotation", "an initdata document")
	if err != nil {
		return nil, fmt.Errorf("decompress the initdata annotation: %w", err)
	}
	if err := zr.Close(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the initdata annotation's gzip data is damaged: %w", err)
	}
	return b, nil
}
