package manifest

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ScalarEdit replaces one scalar value, found by its key path from the top of
// the manifest (e.g. toolchains, rust, version), keeping its quoting.
type ScalarEdit struct {
	Path     []string
	Old, New string
}

// Rewrite is a set of in-place changes to a manifest's text.
type Rewrite struct {
	Edits []ScalarEdit
	// DropExceptions are indexes into policy.exceptions to delete.
	DropExceptions []int
}

// safeScalar is what Rewrite writes: versions and dates need no escaping in
// any quoting style, so the edited file means exactly what was asked.
var safeScalar = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]*$`)

// Apply returns src with the changes made by editing byte ranges in place,
// so comments, key order, spacing and quoting elsewhere are untouched. The
// result is parsed again and must be a valid manifest whose edited values
// read back as requested; otherwise nothing is returned.
func (r Rewrite) Apply(file string, src []byte) ([]byte, error) {
	w := &walker{file: file}
	root := w.document(src)
	if root == nil {
		return nil, fmt.Errorf("rewrite %s: %w", file, w.errs.orNil())
	}
	tx := &textEdit{src: src, lineStarts: lineStarts(src)}
	for _, e := range r.Edits {
		if err := tx.replaceScalar(root, e); err != nil {
			return nil, fmt.Errorf("rewrite %s: %w", file, err)
		}
	}
	if len(r.DropExceptions) > 0 {
		if err := tx.dropExceptions(root, r.DropExceptions); err != nil {
			return nil, fmt.Errorf("rewrite %s: %w", file, err)
		}
	}
	out, err := tx.apply()
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", file, err)
	}
	if _, err := Parse(file, out); err != nil {
		return nil, fmt.Errorf("rewrite %s: the edited manifest does not validate, nothing written (a bug: please report with the file): %w", file, err)
	}
	check := &walker{file: file}
	newRoot := check.document(out)
	for _, e := range r.Edits {
		n := lookup(newRoot, e.Path)
		if n == nil || n.Value != e.New {
			return nil, fmt.Errorf("rewrite %s: %s did not read back as %q after editing, nothing written (a bug: please report)", file, strings.Join(e.Path, "."), e.New)
		}
	}
	return out, nil
}

// splice is one byte-range replacement.
type splice struct {
	start, end int
	text       string
}

type textEdit struct {
	src        []byte
	lineStarts []int
	splices    []splice
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset converts yaml.v3's 1-based line and column (counted in characters)
// to a byte offset.
func (tx *textEdit) offset(line, col int) (int, error) {
	if line < 1 || line > len(tx.lineStarts) {
		return 0, fmt.Errorf("line %d is outside the file", line)
	}
	off := tx.lineStarts[line-1]
	for i := 1; i < col; i++ {
		if off >= len(tx.src) || tx.src[off] == '\n' {
			return 0, fmt.Errorf("column %d is outside line %d", col, line)
		}
		_, size := utf8.DecodeRune(tx.src[off:])
		off += size
	}
	return off, nil
}

// lineOf returns the 1-based line holding byte offset off.
func (tx *textEdit) lineOf(off int) int {
	i, found := slices.BinarySearch(tx.lineStarts, off)
	if found {
		return i + 1
	}
	return i
}

func (tx *textEdit) lineText(line int) string {
	start := tx.lineStarts[line-1]
	end := len(tx.src)
	if line < len(tx.lineStarts) {
		end = tx.lineStarts[line]
	}
	return strings.TrimRight(string(tx.src[start:end]), "\r\n")
}

func lookup(root *yaml.Node, path []string) *yaml.Node {
	n := root
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

func (tx *textEdit) replaceScalar(root *yaml.Node, e ScalarEdit) error {
	where := strings.Join(e.Path, ".")
	if !safeScalar.MatchString(e.New) {
		return fmt.Errorf("%s: refusing to write %q: only plain version-like values are edited in place", where, e.New)
	}
	n := lookup(root, e.Path)
	if n == nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: no such value in the manifest", where)
	}
	if n.Value != e.Old {
		return fmt.Errorf("%s is %q, not %q: the file changed since it was checked; run bump again", where, n.Value, e.Old)
	}
	var quote string
	switch n.Style {
	case 0:
	case yaml.DoubleQuotedStyle:
		quote = `"`
	case yaml.SingleQuotedStyle:
		quote = `'`
	default:
		return fmt.Errorf("line %d: %s is written in a style that is not edited in place: write it as \"%s\" and run bump again", n.Line, where, e.Old)
	}
	start, err := tx.offset(n.Line, n.Column)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	raw := quote + e.Old + quote
	if !bytes.HasPrefix(tx.src[start:], []byte(raw)) {
		return fmt.Errorf("line %d: %s is not written as %s (escapes or a tag): write it plainly and run bump again", n.Line, where, raw)
	}
	tx.splices = append(tx.splices, splice{start: start, end: start + len(raw), text: quote + e.New + quote})
	return nil
}

// dropExceptions removes whole list items from policy.exceptions, with the
// comment lines yaml attaches to them. A list left empty becomes [] so the
// key keeps its meaning.
func (tx *textEdit) dropExceptions(root *yaml.Node, drop []int) error {
	seqKey, seq := lookupKey(root, "policy", "exceptions")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return fmt.Errorf("policy.exceptions: no list to remove exceptions from")
	}
	if seq.Style&yaml.FlowStyle != 0 {
		return fmt.Errorf("line %d: policy.exceptions is a [flow] list: remove the stale exceptions by hand (bump listed them)", seq.Line)
	}
	items := seq.Content
	for _, i := range drop {
		if i < 0 || i >= len(items) {
			return fmt.Errorf("policy.exceptions[%d]: no such exception", i)
		}
	}
	for _, i := range drop {
		first, dashLine, err := tx.itemFirstLine(items[i])
		if err != nil {
			return fmt.Errorf("policy.exceptions[%d]: %w", i, err)
		}
		last := tx.itemLastLine(items[i], indentOf(tx.lineText(dashLine)))
		end := len(tx.src)
		if last < len(tx.lineStarts) {
			end = tx.lineStarts[last]
		}
		tx.splices = append(tx.splices, splice{start: tx.lineStarts[first-1], end: end})
	}
	if len(uniq(drop)) == len(items) {
		keyStart, err := tx.offset(seqKey.Line, seqKey.Column)
		if err != nil {
			return err
		}
		colon := bytes.IndexByte(tx.src[keyStart:], ':')
		if colon < 0 || tx.lineOf(keyStart+colon) != seqKey.Line {
			return fmt.Errorf("line %d: cannot find the colon after exceptions", seqKey.Line)
		}
		at := keyStart + colon + 1
		tx.splices = append(tx.splices, splice{start: at, end: at, text: " []"})
	}
	return nil
}

func lookupKey(root *yaml.Node, path ...string) (key, val *yaml.Node) {
	n := root
	for _, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil, nil
		}
		var found bool
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				key, n, found = n.Content[i], n.Content[i+1], true
				break
			}
		}
		if !found {
			return nil, nil
		}
	}
	return key, n
}

// itemFirstLine finds the line of a block list item's "-" indicator and the
// first line to remove: the dash line extended upwards over the comment lines
// yaml attached to the item.
func (tx *textEdit) itemFirstLine(item *yaml.Node) (first, dashLine int, err error) {
	off, err := tx.offset(item.Line, item.Column)
	if err != nil {
		return 0, 0, err
	}
	i := off - 1
	for i >= 0 && (tx.src[i] == ' ' || tx.src[i] == '\t' || tx.src[i] == '\n' || tx.src[i] == '\r') {
		i--
	}
	if i < 0 || tx.src[i] != '-' {
		return 0, 0, fmt.Errorf("line %d: the list item's '-' is not where expected: remove the exception by hand", item.Line)
	}
	dashLine = tx.lineOf(i)
	if strings.TrimSpace(string(tx.src[tx.lineStarts[dashLine-1]:i])) != "" {
		return 0, 0, fmt.Errorf("line %d: the list item does not start its line: remove the exception by hand", dashLine)
	}
	first = dashLine
	if item.HeadComment != "" {
		n := strings.Count(item.HeadComment, "\n") + 1
		for ; n > 0 && first > 1 && strings.HasPrefix(strings.TrimSpace(tx.lineText(first-1)), "#"); n-- {
			first--
		}
	}
	return first, dashLine, nil
}

// itemLastLine is the last line belonging to an item: the furthest line any
// of its nodes starts on, then continuation lines indented deeper than its
// dash (closing braces, wrapped scalars). A blank or comment line ends it.
func (tx *textEdit) itemLastLine(item *yaml.Node, dashIndent int) int {
	last := maxLine(item)
	for last < len(tx.lineStarts) {
		next := tx.lineText(last + 1)
		t := strings.TrimSpace(next)
		if t == "" || strings.HasPrefix(t, "#") || indentOf(next) <= dashIndent {
			break
		}
		last++
	}
	return last
}

func maxLine(n *yaml.Node) int {
	m := n.Line
	for _, c := range n.Content {
		m = max(m, maxLine(c))
	}
	return m
}

func indentOf(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

func uniq(xs []int) []int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return slices.Compact(s)
}

// apply performs the splices back to front so earlier offsets stay valid.
func (tx *textEdit) apply() ([]byte, error) {
	sp := slices.Clone(tx.splices)
	slices.SortFunc(sp, func(a, b splice) int { return b.start - a.start })
	sp = slices.CompactFunc(sp, func(a, b splice) bool { return a == b })
	out := slices.Clone(tx.src)
	limit := len(out) + 1
	for _, s := range sp {
		if s.end > limit {
			return nil, fmt.Errorf("overlapping edits at byte %d: apply them one at a time", s.start)
		}
		out = slices.Concat(out[:s.start], []byte(s.text), out[s.end:])
		limit = s.start
	}
	return out, nil
}
