package repro

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// firstDifference returns the offset of the first byte where the files differ (the
// shorter file's length when one is a prefix of the other).
func firstDifference(a, b string) (int64, error) {
	fa, err := openArtifact(a)
	if err != nil {
		return 0, err
	}
	defer fa.Close()
	fb, err := openArtifact(b)
	if err != nil {
		return 0, err
	}
	defer fb.Close()
	ra, rb := bufio.NewReaderSize(fa, 1<<20), bufio.NewReaderSize(fb, 1<<20)
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		na, errA := io.ReadFull(ra, bufA)
		nb, errB := io.ReadFull(rb, bufB)
		n := min(na, nb)
		for i := 0; i < n; i++ {
			if bufA[i] != bufB[i] {
				return off + int64(i), nil
			}
		}
		if na != nb {
			return off + int64(n), nil
		}
		off += int64(n)
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		if errA != nil && !endA {
			return 0, errA
		}
		if errB != nil && !endB {
			return 0, errB
		}
		if endA || endB {
			return off, nil
		}
	}
}

// elfLocation names what of an ELF file lies at off: a section, the ELF header, or a
// program segment outside every section.
func elfLocation(file string, off int64) string {
	f, err := elf.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	hdr := int64(64)
	if f.Class == elf.ELFCLASS32 {
		hdr = 52
	}
	if off < hdr {
		return "ELF header"
	}
	best := ""
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Size == 0 {
			continue
		}
		start, end := int64(s.Offset), int64(s.Offset+s.Size)
		if off >= start && off < end {
			best = fmt.Sprintf("section %s at +0x%x", s.Name, off-start)
			break
		}
	}
	if best != "" {
		return best
	}
	for i, p := range f.Progs {
		if off >= int64(p.Off) && off < int64(p.Off+p.Filesz) {
			return fmt.Sprintf("program segment %d (%s) at +0x%x", i, p.Type, off-int64(p.Off))
		}
	}
	return "outside every section (headers, padding)"
}

// textLocation names the first differing line of two text files and shows both.
func textLocation(a, b string) string {
	la, errA := lineAt(a)
	lb, errB := lineAt(b)
	if errA != nil || errB != nil {
		return ""
	}
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			col := commonPrefix(x, y)
			where := fmt.Sprintf("line %d", i+1)
			if len(x) > 100 || len(y) > 100 {
				where += fmt.Sprintf(" column %d", col+1)
			}
			return fmt.Sprintf("%s: %s != %s", where, window(x, col, i < len(la)), window(y, col, i < len(lb)))
		}
	}
	return ""
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// window quotes a line, or for a long one the part around column col where it
// starts to differ, so the difference is in what the report shows.
func window(s string, col int, present bool) string {
	if !present {
		return "(end of file)"
	}
	if len(s) <= 100 {
		return fmt.Sprintf("%q", s)
	}
	from, to := max(0, col-30), min(len(s), col+50)
	out := fmt.Sprintf("%q", s[from:to])
	if from > 0 {
		out = "…" + out
	}
	if to < len(s) {
		out += "…"
	}
	return out
}

// maxTextBytes bounds a text artifact read whole to show a differing line
// (a kernel config is a few hundred KiB).
const maxTextBytes = 64 * boundedio.MiB

func lineAt(file string) ([]string, error) {
	f, err := openArtifact(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := boundedio.ReadAllLimit(f, maxTextBytes, file, "a text artifact")
	if err != nil {
		return nil, err
	}
	return strings.Split(string(bytes.TrimSuffix(data, []byte("\n"))), "\n"), nil
}

// ext4Location names the block and block group of an offset in an ext4 image.
func ext4Location(sb map[string]string, off int64) string {
	var bs, per int64
	fmt.Sscan(sb["Block size"], &bs)
	fmt.Sscan(sb["Blocks per group"], &per)
	if bs <= 0 || per <= 0 {
		return ""
	}
	block := off / bs
	where := fmt.Sprintf("block %d (group %d)", block, block/per)
	if off >= 1024 && off < 2048 {
		where = "the superblock"
	}
	return where
}
