package initdata

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the part of TOML 1.0 an initdata document can use. The
// schema (Kata's InitData: version, algorithm and a data table, every value
// a string) rules out numbers, booleans, dates and arrays, so those are
// refused with the reason rather than parsed. What it reads in full: comments,
// bare, quoted and dotted keys, [table] headers, and all four string forms
// with their escapes and line-ending backslashes. It follows TOML's rules on
// duplicate keys and redefined tables, which Kata's toml crate enforces too.

// SyntaxError is an error at a line of the document.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

type tableKind int

const (
	implicitTable tableKind = iota // a parent of a [header], not yet defined
	headerTable                    // defined by its own [header]
	dottedTable                    // defined by a dotted key
)

type table struct {
	kind    tableKind
	line    int
	entries map[string]*node
}

// node is a string value or a table, with the line that defined it.
type node struct {
	line int
	str  *string
	tab  *table
}

func newTable(kind tableKind, line int) *table {
	return &table{kind: kind, line: line, entries: map[string]*node{}}
}

type parser struct {
	src  string
	pos  int
	line int
	root *table
	cur  *table
}

// parseTOML reads a document into its tree of tables and strings.
func parseTOML(src []byte) (*table, error) {
	if !utf8.Valid(src) {
		line := 1
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			if r == '\n' {
				line++
			}
			i += n
		}
		return nil, &SyntaxError{line, "the document is not UTF-8, which TOML requires"}
	}
	p := &parser{src: string(src), line: 1, root: newTable(headerTable, 1)}
	p.cur = p.root
	for {
		p.skipBlank()
		if p.eof() {
			return p.root, nil
		}
		var err error
		if p.peek() == '[' {
			err = p.header()
		} else {
			err = p.keyValue()
		}
		if err == nil {
			err = p.endOfLine()
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool    { return p.pos >= len(p.src) }
func (p *parser) peek() byte   { return p.src[p.pos] }
func (p *parser) rest() string { return p.src[p.pos:] }

// skipSpace skips spaces and tabs on the current line.
func (p *parser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.pos++
	}
}

// skipBlank skips whitespace, newlines and comments between statements.
func (p *parser) skipBlank() {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '\n':
			p.pos++
			p.line++
		case c == '#':
			for !p.eof() && p.peek() != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// endOfLine accepts what may follow a statement: spaces, a comment, the end
// of the line or of the file.
func (p *parser) endOfLine() error {
	p.skipSpace()
	if !p.eof() && p.peek() == '#' {
		for !p.eof() && p.peek() != '\n' {
			if c := p.peek(); c < 0x20 && c != '\t' && c != '\r' || c == 0x7F {
				return p.errorf("control character %#02x in a comment", c)
			}
			p.pos++
		}
	}
	switch {
	case p.eof():
		return nil
	case strings.HasPrefix(p.rest(), "\r\n"):
		p.pos += 2
	case p.peek() == '\n':
		p.pos++
	default:
		return p.errorf("unexpected %q after the statement: put each key = value or [table] on its own line", p.rest()[:1])
	}
	p.line++
	return nil
}

func (p *parser) header() error {
	if strings.HasPrefix(p.rest(), "[[") {
		return p.errorf("arrays of tables ([[...]]) have no place in initdata: data is one table of strings")
	}
	p.pos++
	p.skipSpace()
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.eof() || p.peek() != ']' {
		return p.errorf("the table header [%s has no closing ]", strings.Join(keys, "."))
	}
	p.pos++
	t := p.root
	for i, k := range keys {
		n, ok := t.entries[k]
		last := i == len(keys)-1
		switch {
		case !ok:
			kind := implicitTable
			if last {
				kind = headerTable
			}
			n = &node{line: p.line, tab: newTable(kind, p.line)}
			t.entries[k] = n
		case n.tab == nil:
			return p.errorf("[%s]: %s is a string (line %d), not a table", strings.Join(keys, "."), k, n.line)
		case last && n.tab.kind != implicitTable:
			return p.errorf("table [%s] is already defined at line %d", strings.Join(keys, "."), n.tab.line)
		case last:
			n.tab.kind, n.tab.line = headerTable, p.line
		}
		t = n.tab
	}
	p.cur = t
	return nil
}

func (p *parser) keyValue() error {
	line := p.line
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.eof() || p.peek() != '=' {
		return p.errorf("expected = after the key %s", strings.Join(keys, "."))
	}
	p.pos++
	p.skipSpace()
	val, err := p.value(strings.Join(keys, "."))
	if err != nil {
		return err
	}
	t := p.cur
	for _, k := range keys[:len(keys)-1] {
		n, ok := t.entries[k]
		switch {
		case !ok:
			n = &node{line: line, tab: newTable(dottedTable, line)}
			t.entries[k] = n
		case n.tab == nil:
			return &SyntaxError{line, fmt.Sprintf("%s: %s is a string (line %d), not a table", strings.Join(keys, "."), k, n.line)}
		case n.tab.kind != dottedTable:
			return &SyntaxError{line, fmt.Sprintf("%s: table %s is defined at line %d; add the key under its [header]",
				strings.Join(keys, "."), k, n.tab.line)}
		}
		t = n.tab
	}
	k := keys[len(keys)-1]
	if prev, dup := t.entries[k]; dup {
		return &SyntaxError{line, fmt.Sprintf("key %s is already defined at line %d", strings.Join(keys, "."), prev.line)}
	}
	t.entries[k] = &node{line: line, str: &val}
	return nil
}

// key reads a possibly dotted key: bare, "basic" or 'literal' parts.
func (p *parser) key() ([]string, error) {
	var keys []string
	for {
		if p.eof() {
			return nil, p.errorf("expected a key at the end of the file")
		}
		var k string
		switch c := p.peek(); {
		case c == '"':
			if strings.HasPrefix(p.rest(), `"""`) {
				return nil, p.errorf("a key cannot be a multi-line string")
			}
			s, err := p.basicString()
			if err != nil {
				return nil, err
			}
			k = s
		case c == '\'':
			if strings.HasPrefix(p.rest(), "'''") {
				return nil, p.errorf("a key cannot be a multi-line string")
			}
			s, err := p.literalString()
			if err != nil {
				return nil, err
			}
			k = s
		case isBare(c):
			start := p.pos
			for !p.eof() && isBare(p.peek()) {
				p.pos++
			}
			k = p.src[start:p.pos]
		default:
			return nil, p.errorf("unexpected %q where a key should be: bare keys are A-Za-z0-9_-, quote any other", c)
		}
		keys = append(keys, k)
		p.skipSpace()
		if p.eof() || p.peek() != '.' {
			return keys, nil
		}
		p.pos++
		p.skipSpace()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (p *parser) value(key string) (string, error) {
	switch {
	case strings.HasPrefix(p.rest(), `"""`):
		return p.multiBasicString()
	case strings.HasPrefix(p.rest(), "'''"):
		return p.multiLiteralString()
	case !p.eof() && p.peek() == '"':
		return p.basicString()
	case !p.eof() && p.peek() == '\'':
		return p.literalString()
	case !p.eof() && p.peek() == '{':
		return "", p.errorf("the value of %s is an inline table: write it as a [%s] table of strings", key, key)
	case p.eof() || p.peek() == '\n' || p.peek() == '\r' || p.peek() == '#':
		return "", p.errorf("%s has no value", key)
	}
	end := strings.IndexAny(p.rest(), " \t\r\n#")
	if end < 0 {
		end = len(p.rest())
	}
	return "", p.errorf("the value of %s (%s) is not a string: initdata's version, algorithm and data entries are all strings; quote it",
		key, p.rest()[:end])
}

// literalString reads '...': no escapes, no newline.
func (p *parser) literalString() (string, error) {
	p.pos++
	end := strings.IndexAny(p.rest(), "'\n")
	if end < 0 || p.rest()[end] == '\n' {
		return "", p.errorf("unterminated literal string: close it with ' on the same line")
	}
	s := p.rest()[:end]
	if err := p.checkControl(s, false); err != nil {
		return "", err
	}
	p.pos += end + 1
	return s, nil
}

// multiLiteralString reads ”'...”': no escapes; a newline right after the
// opening quotes is not part of the value; up to two ' may precede the close.
func (p *parser) multiLiteralString() (string, error) {
	p.pos += 3
	start := p.line
	p.trimFirstNewline()
	end := strings.Index(p.rest(), "'''")
	if end < 0 {
		return "", &SyntaxError{start, "unterminated multi-line literal string: close it with '''"}
	}
	// Up to two ' may sit right before the closing three.
	r, k := p.rest(), 3
	for end+k < len(r) && r[end+k] == '\'' {
		k++
	}
	if k > 5 {
		return "", p.errorf("%d ' in a row in a multi-line literal string: three end it, at most two more may precede them", k)
	}
	s := r[:end+k-3]
	if err := p.checkControl(s, true); err != nil {
		return "", err
	}
	p.line += strings.Count(s, "\n")
	p.pos += end + k
	return s, nil
}

func (p *parser) trimFirstNewline() {
	if strings.HasPrefix(p.rest(), "\r\n") {
		p.pos += 2
		p.line++
	} else if strings.HasPrefix(p.rest(), "\n") {
		p.pos++
		p.line++
	}
}

// checkControl refuses the control characters TOML keeps out of strings
// (tab is allowed; newlines only in multi-line strings).
func (p *parser) checkControl(s string, multiline bool) error {
	line := p.line
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' && multiline:
			line++
		case c == '\r' && multiline && i+1 < len(s) && s[i+1] == '\n':
		case c == '\t':
		case c < 0x20 || c == 0x7F:
			return &SyntaxError{line, fmt.Sprintf("control character %#02x in a string: write it as an escape in a \"basic\" string", c)}
		}
	}
	return nil
}

// basicString reads "..." with escapes.
func (p *parser) basicString() (string, error) {
	p.pos++
	var b strings.Builder
	for {
		if p.eof() || p.peek() == '\n' {
			return "", p.errorf("unterminated string: close it with \" on the same line")
		}
		c := p.peek()
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c < 0x20 && c != '\t' || c == 0x7F:
			return "", p.errorf("control character %#02x in a string: write it as an escape", c)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// multiBasicString reads """...""" with escapes and line-ending backslashes.
func (p *parser) multiBasicString() (string, error) {
	p.pos += 3
	start := p.line
	p.trimFirstNewline()
	var b strings.Builder
	for {
		if p.eof() {
			return "", &SyntaxError{start, `unterminated multi-line string: close it with """`}
		}
		r := p.rest()
		switch c := r[0]; {
		case strings.HasPrefix(r, `"""`):
			// Up to two quotes may sit right before the closing three.
			n := 3
			for n < len(r) && n < 5 && r[n] == '"' {
				n++
			}
			b.WriteString(r[:n-3])
			p.pos += n
			return b.String(), nil
		case c == '\\' && p.lineEndingBackslash():
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c == '\n':
			b.WriteByte(c)
			p.pos++
			p.line++
		case c == '\r' && strings.HasPrefix(r, "\r\n"):
			b.WriteString("\r\n")
			p.pos += 2
			p.line++
		case c < 0x20 && c != '\t' || c == 0x7F:
			return "", p.errorf("control character %#02x in a string: write it as an escape", c)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// lineEndingBackslash consumes a backslash that ends its line (spaces may
// follow it) and all whitespace up to the next text, as TOML trims it.
func (p *parser) lineEndingBackslash() bool {
	i := p.pos + 1
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	if i < len(p.src) && p.src[i] == '\r' {
		i++
	}
	if i >= len(p.src) || p.src[i] != '\n' {
		return false
	}
	p.pos = i
	for !p.eof() && strings.ContainsRune(" \t\r\n", rune(p.peek())) {
		if p.peek() == '\n' {
			p.line++
		}
		p.pos++
	}
	return true
}

func (p *parser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.src) {
		return p.errorf("a string ends in a lone backslash")
	}
	c := p.src[p.pos+1]
	simple := map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\'}
	if r, ok := simple[c]; ok {
		b.WriteByte(r)
		p.pos += 2
		return nil
	}
	digits := map[byte]int{'u': 4, 'U': 8}[c]
	if digits == 0 {
		return p.errorf(`unknown escape \%c: TOML knows \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX; use a 'literal' string for backslashes`, c)
	}
	hex := p.src[p.pos+2 : min(p.pos+2+digits, len(p.src))]
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || len(hex) != digits || !utf8.ValidRune(rune(v)) {
		return p.errorf(`\%c%s is not a Unicode scalar value`, c, hex)
	}
	b.WriteRune(rune(v))
	p.pos += 2 + digits
	return nil
}
