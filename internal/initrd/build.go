package initrd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/safepath"
)

// Spec is one initrd build: where the tree comes from, how it boots, what it
// is checked against and how it is written.
type Spec struct {
	// Root (a directory) or Tar (a tar file) is the tree; exactly one.
	Root, Tar string
	Init      InitMode
	// Agent is the agent binary on the host; empty when the tree has it.
	Agent       string
	Arch        arch.Arch
	Compression Compression
	// Epoch is every entry's mtime (SOURCE_DATE_EPOCH).
	Epoch  int64
	Owners []Owner
	Limits Limits
}

// Result describes a written initrd.
type Result struct {
	Stats
	Compression Compression
	// Bytes is the size of the file, SHA256 its hex digest.
	Bytes  int64
	SHA256 string
	// Rewrites lists symlinks changed by the absolute-target rule.
	Rewrites []string
}

// LoadTree reads the spec's tree, wires its init and validates it.
func LoadTree(s Spec) (*Tree, error) {
	if (s.Root == "") == (s.Tar == "") {
		return nil, errors.New("give exactly one tree: a directory (--root) or a tar file (--tar)")
	}
	var t *Tree
	var err error
	if s.Root != "" {
		t, err = FromDir(s.Root)
	} else {
		var f *os.File
		f, err = os.Open(s.Tar)
		if err != nil {
			return nil, fmt.Errorf("open tree tarball: %w", err)
		}
		defer f.Close()
		t, err = FromTar(f, s.Limits)
		if err != nil {
			err = fmt.Errorf("%s: %w", s.Tar, err)
		}
	}
	if err != nil {
		return nil, err
	}
	var agent *Agent
	if s.Agent != "" {
		agent = &Agent{HostPath: s.Agent}
	}
	if err := ApplyInit(t, s.Init, agent); err != nil {
		return nil, err
	}
	if err := Validate(t, s.Arch, s.Init, s.Limits); err != nil {
		return nil, err
	}
	return t, nil
}

// Pack writes t as a compressed newc archive to w.
func Pack(w io.Writer, t *Tree, o WriteOptions, c Compression) (Stats, error) {
	zw, err := Compress(w, c)
	if err != nil {
		return Stats{}, err
	}
	st, err := WriteNewc(zw, t, o)
	if err != nil {
		zw.Close()
		return st, err
	}
	if err := zw.Close(); err != nil {
		return st, fmt.Errorf("finish %s stream: %w", c, err)
	}
	return st, nil
}

// Build loads, validates and writes the initrd to out, atomically: a failed
// build leaves no partial file behind. out must not be, lie in, or be linked to
// the tree or the agent (safepath.CheckOutput): packing a tree into itself, or
// over its agent, would destroy the input.
func Build(s Spec, out string) (Result, error) {
	if err := safepath.CheckOutput(out, s.Root, s.Tar, s.Agent); err != nil {
		return Result{}, err
	}
	t, err := LoadTree(s)
	if err != nil {
		return Result{}, err
	}
	h := sha256.New()
	var st Stats
	var n int64
	err = safepath.WriteFile(out, 0o644, func(w io.Writer) error {
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		var err error
		st, err = Pack(cw, t, WriteOptions{Epoch: s.Epoch, Owners: s.Owners}, s.Compression)
		n = cw.n
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Stats: st, Compression: s.Compression, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)), Rewrites: t.Rewrites}, nil
}

// List reads an initrd (gzip, zstd or plain newc) and returns its headers. It
// holds every header in memory, so it stops at DefaultLimits.MaxEntries: an
// archive of millions of empty members is an attack on the reader, not an initrd.
func List(r io.Reader) ([]*Header, Compression, error) {
	return listLimit(r, DefaultLimits.MaxEntries)
}

func listLimit(r io.Reader, maxEntries int) ([]*Header, Compression, error) {
	rc, c, err := Decompress(r)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	cr := NewReader(rc)
	var out []*Header
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return out, c, nil
		}
		if err != nil {
			return out, c, err
		}
		if len(out) == maxEntries {
			return out, c, fmt.Errorf("cpio archive has more than %d entries (the limit for an initrd): it is not one guestforge or the kernel would pack", maxEntries)
		}
		out = append(out, h)
	}
}
