package initrd

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// Limits bound what a tree may hold. The kernel unpacks the whole initrd
// into RAM, so an oversized tree is a guest that does not boot, found early.
type Limits struct {
	// MaxTotalBytes caps the sum of regular file sizes (default 1 GiB).
	MaxTotalBytes int64
	// MaxFileBytes caps one file (default and hard maximum: newc's 4 GiB - 1).
	MaxFileBytes int64
	// MaxEntries caps the number of entries (default 1,000,000).
	MaxEntries int
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{MaxTotalBytes: 1 << 30, MaxFileBytes: newcMaxField, MaxEntries: 1_000_000}

func (l Limits) withDefaults() Limits {
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultLimits.MaxTotalBytes
	}
	if l.MaxFileBytes <= 0 || l.MaxFileBytes > newcMaxField {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	return l
}

// ValidationError lists every problem found, so one run reports them all.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "initrd is not valid: " + e.Problems[0]
	}
	return fmt.Sprintf("initrd is not valid (%d problems):\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// maxListed caps how many files one problem names (an ELF of the wrong arch
// usually comes with hundreds of siblings).
const maxListed = 5

// Validate checks a tree before it is written: the init for mode exists and
// is executable, every ELF file is built for target, no entry escapes the root
// (symlink rule below), and the tree is within limits.
//
// Symlink rule: a relative target is resolved against the link's directory,
// lexically; if that climbs above the initrd root the link is refused, because
// it was written for some other root (the host's) and means nothing in the
// guest. Absolute targets are resolved by the guest against the initrd's own
// "/" and cannot leave it; they are kept (FromDir rewrites those naming the
// host root, see there).
func Validate(t *Tree, target arch.Arch, mode InitMode, limits Limits) error {
	limits = limits.withDefaults()
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if err := checkInit(t, mode); err != nil {
		add("%v", err)
	}

	entries := t.Entries()
	if len(entries) > limits.MaxEntries {
		add("%d entries, over the limit of %d", len(entries), limits.MaxEntries)
	}
	var total int64
	var escapes, wrongArch, tooBig []string
	var wrongArchCount, escapeCount int
	for _, e := range entries {
		switch e.Kind {
		case KindSymlink:
			if escapesRoot(e.Path, e.Linkname) {
				escapeCount++
				if len(escapes) < maxListed {
					escapes = append(escapes, fmt.Sprintf("%s -> %s", e.Path, e.Linkname))
				}
			}
		case KindRegular:
			total += e.Size
			if e.Size > limits.MaxFileBytes {
				tooBig = append(tooBig, fmt.Sprintf("%s (%d bytes)", e.Path, e.Size))
			}
			got, isELF, err := elfArch(e)
			if err != nil {
				add("%v", err)
				continue
			}
			if isELF && got != target.Name {
				wrongArchCount++
				if len(wrongArch) < maxListed {
					wrongArch = append(wrongArch, fmt.Sprintf("%s is %s", e.Path, got))
				}
			}
		}
	}
	if escapeCount > 0 {
		add("%d symlink(s) point outside the initrd root: %s%s; make the target relative to the tree or absolute (as the guest sees it)",
			escapeCount, strings.Join(escapes, ", "), more(escapeCount))
	}
	if wrongArchCount > 0 {
		add("%d ELF file(s) are not built for %s: %s%s; build them for %s (GOARCH=%s, %s-gcc) or remove them",
			wrongArchCount, target.Name, strings.Join(wrongArch, ", "), more(wrongArchCount), target.Name, target.GOARCH, target.Triplet)
	}
	if len(tooBig) > 0 {
		add("file(s) over the per-file limit of %d bytes: %s", limits.MaxFileBytes, strings.Join(tooBig, ", "))
	}
	if total > limits.MaxTotalBytes {
		add("%d bytes of files, over the limit of %d: remove content (docs, locales) or raise the limit", total, limits.MaxTotalBytes)
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

func more(n int) string {
	if n > maxListed {
		return fmt.Sprintf(" (and %d more)", n-maxListed)
	}
	return ""
}

// escapesRoot applies the relative-target rule.
func escapesRoot(linkPath, target string) bool {
	if strings.HasPrefix(target, "/") {
		return false
	}
	depth := strings.Count(path.Dir(linkPath), "/") + 1
	if path.Dir(linkPath) == "." {
		depth = 0
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// elfArch reads e's ELF identification, if it is an ELF file, and names the
// guestforge architecture it was built for ("unknown machine X" otherwise).
// Only the first 20 bytes are read: e_ident and e_machine are all we need,
// and a truncated or odd ELF must not stop the check.
func elfArch(e *Entry) (name string, isELF bool, err error) {
	if e.Size < 20 {
		return "", false, nil
	}
	rc, err := e.Open()
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", e.Path, err)
	}
	defer rc.Close()
	var hdr [20]byte
	if _, err := io.ReadFull(rc, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read %s: shorter than its listed %d bytes (changed while packing?)", e.Path, e.Size)
		}
		return "", false, fmt.Errorf("read %s: %w", e.Path, err)
	}
	if string(hdr[:4]) != elf.ELFMAG {
		return "", false, nil
	}
	class, data := elf.Class(hdr[elf.EI_CLASS]), elf.Data(hdr[elf.EI_DATA])
	var machine elf.Machine
	switch data {
	case elf.ELFDATA2LSB:
		machine = elf.Machine(binary.LittleEndian.Uint16(hdr[18:20]))
	case elf.ELFDATA2MSB:
		machine = elf.Machine(binary.BigEndian.Uint16(hdr[18:20]))
	default:
		return fmt.Sprintf("an ELF with unknown byte order %d", data), true, nil
	}
	if a, ok := arch.FromELF(machine, class, data); ok {
		return a.Name, true, nil
	}
	return fmt.Sprintf("%v (%v, %v), not a guestforge architecture", machine, class, data), true, nil
}
