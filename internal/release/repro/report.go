package repro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/initrd"
)

// Report is the outcome of comparing two artifact trees.
type Report struct {
	// DirA and DirB are the compared trees (absolute paths).
	DirA string `json:"a"`
	DirB string `json:"b"`
	// Identical is true when both trees hold the same artifacts with the same bytes.
	Identical bool `json:"identical"`
	// First is the path of the mismatching artifact the report leads with: the one
	// most likely to be the cause (a kernel config before the vmlinux built from it,
	// a disk image before its verity tree), see rank.
	First     string     `json:"first,omitempty"`
	Artifacts []Artifact `json:"artifacts"`
	// Diffoscope is the path of diffoscope's text report on the first mismatching
	// pair when diffoscope is on PATH; DiffoscopeNote says why there is none or what
	// went wrong.
	Diffoscope     string `json:"diffoscope,omitempty"`
	DiffoscopeNote string `json:"diffoscope_note,omitempty"`
	// Notes say how the trees were read where that is not obvious (a tree root
	// that is a symlink, resolved once).
	Notes []string `json:"notes,omitempty"`
}

// Artifact is one file of the trees.
type Artifact struct {
	// Path is relative to the tree roots, slash-separated.
	Path string `json:"path"`
	// Kind is what the content was read as: cpio, tar, ext4, erofs, elf, text or
	// binary (from the bytes, not the name).
	Kind Kind `json:"kind,omitempty"`
	// Compression of an archive (gzip, zstd, none).
	Compression string `json:"compression,omitempty"`
	SHA256A     string `json:"sha256_a,omitempty"`
	SHA256B     string `json:"sha256_b,omitempty"`
	SizeA       int64  `json:"size_a"`
	SizeB       int64  `json:"size_b"`
	Identical   bool   `json:"identical"`
	// Missing names the tree that lacks the artifact ("a" or "b").
	Missing string `json:"missing,omitempty"`
	// LinkA and LinkB are the targets of a symlink, as written: links are
	// compared by target and never followed.
	LinkA *string `json:"link_a,omitempty"`
	LinkB *string `json:"link_b,omitempty"`
	// Offset is the first differing byte; Location says what is there (an ELF
	// section, a text line, an ext4 block).
	Offset   *int64 `json:"first_difference_offset,omitempty"`
	Location string `json:"location,omitempty"`
	// Members are the differing members inside an archive or filesystem, causes
	// first, at most Options.MaxMembers of them; MembersDiffering counts them all.
	Members          []MemberDiff `json:"members,omitempty"`
	MembersDiffering int          `json:"members_differing,omitempty"`
	// Note says why members could not be compared (a missing tool, an unreadable
	// archive), or what else is worth knowing.
	Note string `json:"note,omitempty"`
}

// MemberDiff is one differing member of an artifact.
type MemberDiff struct {
	Member string      `json:"member"`
	Change string      `json:"change"`
	Fields []FieldDiff `json:"fields,omitempty"`
	// Cause is false when every difference is the usual consequence of another one
	// (an inode number shifted by an added file, a superblock count, a ctime).
	Cause bool `json:"cause"`
	pos   int
}

// FieldDiff is one field of a member with its value in each tree.
type FieldDiff struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Kind is how an artifact's content was interpreted.
type Kind string

// Kinds of artifacts.
const (
	KindCpio  Kind = "cpio"
	KindTar   Kind = "tar"
	KindExt4  Kind = "ext4"
	KindErofs Kind = "erofs"
	// KindDisk is a partitioned image (Kata's layout): its p1 filesystem is
	// compared member by member.
	KindDisk   Kind = "disk"
	KindELF    Kind = "elf"
	KindText   Kind = "text"
	KindBinary Kind = "binary"
	// KindSymlink is a link, compared by its target string. FIFOs, sockets and
	// devices get their type as kind ("FIFO", "character-device"...) and are
	// compared by type only.
	KindSymlink Kind = "symlink"
)

// Mismatches returns the differing artifacts in report order.
func (r *Report) Mismatches() []Artifact {
	var out []Artifact
	for _, a := range r.Artifacts {
		if !a.Identical {
			out = append(out, a)
		}
	}
	return out
}

// Artifact returns the artifact at path, or nil.
func (r *Report) Artifact(path string) *Artifact {
	for i := range r.Artifacts {
		if r.Artifacts[i].Path == path {
			return &r.Artifacts[i]
		}
	}
	return nil
}

// Summary is the report's first line: PASS with the count, or FAIL naming the first
// mismatching artifact and, where it has them, its first differing member.
func (r *Report) Summary() string {
	if r.Identical {
		return fmt.Sprintf("PASS %d artifacts identical (sha256) in %s and %s", len(r.Artifacts), r.DirA, r.DirB)
	}
	a := r.Artifact(r.First)
	if a == nil {
		return "FAIL the trees differ"
	}
	return "FAIL " + a.headline()
}

// headline is one line about a mismatching artifact: its name, then what differs first.
func (a *Artifact) headline() string {
	if a.Missing != "" {
		return a.name() + ": " + a.Difference()
	}
	return fmt.Sprintf("%s (%s): %s", a.name(), a.kindLabel(), a.Difference())
}

// Difference says what differs first in a mismatching artifact, without its name:
// the first differing member, the first differing byte, or the tree that lacks it;
// "" for an identical one. It is the detail the build report shows for an artifact
// that is not reproducible.
func (a *Artifact) Difference() string {
	switch {
	case a.Identical:
		return ""
	case a.Missing != "":
		return "missing in " + a.Missing
	case len(a.Members) > 0:
		m := a.Members[0]
		s := fmt.Sprintf("member %s %s", initrd.EscapeName(m.Member), m.Change)
		if len(m.Fields) > 0 {
			s += ": " + m.Fields[0].short()
		}
		return s
	case a.Offset == nil && a.Location != "":
		return terminalSafe(a.Location)
	case a.Offset != nil:
		s := fmt.Sprintf("first difference at byte %d (0x%x)", *a.Offset, *a.Offset)
		if a.Location != "" {
			s += ", " + terminalSafe(a.Location)
		}
		return s
	}
	return "sha256 differs"
}

// name is the artifact's path for a terminal: the trees may be hostile, and a
// file name holding escape sequences must not reach the screen raw (JSON escapes
// them itself).
func (a *Artifact) name() string { return initrd.EscapeName(a.Path) }

// terminalSafe escapes the non-printable bytes of a free-text line (a location, a
// note), which may carry names or bytes from the trees. Unlike names, it leaves
// backslashes alone: these lines often hold Go-quoted text already.
func terminalSafe(s string) string {
	// EscapeName writes every backslash as \\ and adds none otherwise, so undoing
	// that one step leaves exactly the escapes of the non-printable bytes.
	return strings.ReplaceAll(initrd.EscapeName(s), `\\`, `\`)
}

func (a *Artifact) kindLabel() string {
	if a.Compression != "" && a.Compression != "none" {
		return string(a.Kind) + ", " + a.Compression
	}
	return string(a.Kind)
}

// short renders a field difference for one line, digests cut to 16 hex digits.
func (f FieldDiff) short() string {
	cut := func(s string) string {
		if len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" {
			return s[:16] + "…"
		}
		if len(s) > 120 {
			return s[:117] + "…"
		}
		return s
	}
	return fmt.Sprintf("%s %s != %s", f.Field, cut(initrd.EscapeName(f.A)), cut(initrd.EscapeName(f.B)))
}

// WriteText writes the report for people: the summary line, then every artifact
// with its digests and, for a mismatch, what differs.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Summary() + "\n")
	n := len(r.Mismatches())
	fmt.Fprintf(&b, "%d of %d artifacts differ between\n  a: %s\n  b: %s\n", n, len(r.Artifacts), r.DirA, r.DirB)
	for _, a := range r.Artifacts {
		status := "identical"
		if !a.Identical {
			status = "DIFFERS"
		}
		fmt.Fprintf(&b, "%-9s %s (%s)\n", status, a.name(), a.kindLabel())
		switch {
		case a.Identical && a.LinkA != nil:
			fmt.Fprintf(&b, "          target %q\n", *a.LinkA)
			continue
		case a.Identical && a.SHA256A != "":
			fmt.Fprintf(&b, "          sha256 %s\n", a.SHA256A)
			continue
		case a.Identical:
			continue
		case a.Missing != "":
			fmt.Fprintf(&b, "          missing in %s\n", a.Missing)
			continue
		case a.SHA256A == "" || a.SHA256B == "":
			fmt.Fprintf(&b, "          %s\n", terminalSafe(a.Location))
			continue
		}
		fmt.Fprintf(&b, "          a sha256 %s (%d bytes)\n          b sha256 %s (%d bytes)\n", a.SHA256A, a.SizeA, a.SHA256B, a.SizeB)
		if a.Offset != nil {
			fmt.Fprintf(&b, "          first differing byte %d (0x%x)", *a.Offset, *a.Offset)
			if a.Location != "" {
				b.WriteString(": " + terminalSafe(a.Location))
			}
			b.WriteString("\n")
		}
		if a.MembersDiffering > 0 {
			fmt.Fprintf(&b, "          %d member(s) differ", a.MembersDiffering)
			if len(a.Members) < a.MembersDiffering {
				fmt.Fprintf(&b, " (first %d shown)", len(a.Members))
			}
			b.WriteString(":\n")
		}
		for _, m := range a.Members {
			fmt.Fprintf(&b, "            %s: %s", initrd.EscapeName(m.Member), m.Change)
			if !m.Cause {
				b.WriteString(" (follows from the differences above)")
			}
			b.WriteString("\n")
			for _, f := range m.Fields {
				fmt.Fprintf(&b, "              %s\n", f.short())
			}
		}
		if a.Note != "" {
			fmt.Fprintf(&b, "          note: %s\n", terminalSafe(a.Note))
		}
	}
	if r.Diffoscope != "" {
		fmt.Fprintf(&b, "diffoscope report on %s: %s\n", initrd.EscapeName(r.First), r.Diffoscope)
	}
	if r.DiffoscopeNote != "" {
		fmt.Fprintf(&b, "diffoscope: %s\n", terminalSafe(r.DiffoscopeNote))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", terminalSafe(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// MaxReportBytes bounds a report read back with ReadJSON: at most MaxMembers members
// per artifact keep a report of thousands of artifacts far below it.
const MaxReportBytes = 64 * boundedio.MiB

// ReadJSON reads a report WriteJSON wrote (OUT/report.json of `release repro`,
// `release repro compare --json`), for the build report to join. It refuses what
// such a report cannot hold: unknown fields, no artifacts, a path that is not a
// clean relative one or appears twice, a verdict its artifacts contradict.
func ReadJSON(file string) (*Report, error) {
	data, err := boundedio.ReadFileLimit(file, MaxReportBytes, "a reproducibility report")
	if err != nil {
		return nil, fmt.Errorf("read reproducibility report: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w (want the report.json that `release repro` or `release repro compare --json` writes)", file, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &r, nil
}

func (r *Report) check() error {
	if len(r.Artifacts) == 0 {
		return errors.New("no artifacts: a comparison always lists what it compared")
	}
	seen := map[string]bool{}
	var errs []error
	for i, a := range r.Artifacts {
		switch {
		case a.Path == "" || path.IsAbs(a.Path) || path.Clean(a.Path) != a.Path || !fs.ValidPath(a.Path):
			errs = append(errs, fmt.Errorf("artifacts[%d]: path %q is not a clean relative path inside the compared trees", i, a.Path))
		case seen[a.Path]:
			errs = append(errs, fmt.Errorf("artifacts[%d]: path %q listed twice", i, a.Path))
		}
		seen[a.Path] = true
	}
	if differ := len(r.Mismatches()) > 0; r.Identical == differ {
		errs = append(errs, fmt.Errorf("identical is %v, but %d of %d artifacts differ", r.Identical, len(r.Mismatches()), len(r.Artifacts)))
	}
	return boundedio.Errors(errs, 10)
}
