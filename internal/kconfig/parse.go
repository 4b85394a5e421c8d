package kconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/guestforge/guestforge/internal/spelling"
)

// Pos is where a setting came from.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Setting is one "CONFIG_X=value" (or "# CONFIG_X is not set") line.
type Setting struct {
	Name  string // with the CONFIG_ prefix, as in .config
	Value Value
	Pos   Pos
}

// Line renders the setting as a .config line.
func (s Setting) Line() string { return s.Value.Line(s.Name) }

// Fragment is one parsed fragment file.
type Fragment struct {
	Path     string
	Settings []Setting // in file order
	Select   Selector  // from the "# guestforge:" header directives
}

// Error is a syntax or merge error tied to a file and line.
type Error struct {
	Pos Pos
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every *Error found in one file or one tree load, in the order
// found, so a person fixes them all in one round instead of one per run.
// errors.As(err, &*Error) finds the first.
type ErrorList []*Error

// MaxReported caps how many errors ErrorList.Error spells out; a file that is
// not a fragment at all would otherwise print one line per line of it.
const MaxReported = 20

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == MaxReported {
			fmt.Fprintf(&b, "\nand %d more", len(l)-MaxReported)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As and errors.Is look at each *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// appendErrors adds err's *Error entries to l; an error without a position
// is kept under pos.
func (l ErrorList) appendErrors(err error, pos Pos) ErrorList {
	var list ErrorList
	var one *Error
	switch {
	case errors.As(err, &list):
		return append(l, list...)
	case errors.As(err, &one):
		return append(l, one)
	default:
		return append(l, &Error{pos, err})
	}
}

// DirectivePrefix starts a header directive line in a fragment.
const DirectivePrefix = "# guestforge:"

const symPrefix = "CONFIG_"

// notSet is the one spelling Kconfig writes for an unset symbol.
const notSet = "is not set"

// Parse reads one fragment. path is used in positions and errors only.
// Accepted lines: blank; "CONFIG_X=<y|m|n|number|0xhex|"string">";
// "# CONFIG_X is not set" (the only comment that requests something: =n);
// "# guestforge: ..." directives before the first setting; any other comment,
// including commented-out settings ("#CONFIG_X=y") and prose that starts with
// a symbol name, the way Kata Containers' fragments are written. Parse also
// accepts a full .config written by Kconfig.
//
// A comment that is nearly "# CONFIG_X is not set" (a typo, odd spacing or
// case) and a setting with spaces around "=" are errors: both would silently
// lose a request. Parse reports every error of the file at once as an
// ErrorList and then returns no fragment.
func Parse(path string, data []byte) (*Fragment, error) {
	f := &Fragment{Path: path}
	var errs ErrorList
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		pos := Pos{File: path, Line: line}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, DirectivePrefix) {
			if len(f.Settings) > 0 {
				errs = append(errs, &Error{pos, errors.New("guestforge directive after the first setting: move it to the header of the file")})
				continue
			}
			if err := f.Select.parse(strings.TrimPrefix(text, DirectivePrefix)); err != nil {
				errs = append(errs, &Error{pos, err})
			}
			continue
		}
		s, ok, err := parseLine(text)
		if err != nil {
			errs = append(errs, &Error{pos, err})
			continue
		}
		if !ok {
			continue
		}
		s.Pos = pos
		if prev, dup := seen[s.Name]; dup {
			errs = append(errs, &Error{pos, fmt.Errorf("%s is already set at line %d of this file: keep one", s.Name, prev)})
			continue
		}
		seen[s.Name] = line
		f.Settings = append(f.Settings, s)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &Error{Pos{path, line + 1}, fmt.Errorf("reading fragment: %w", err)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// parseLine returns ok=false for a comment.
func parseLine(text string) (Setting, bool, error) {
	if strings.HasPrefix(text, "#") {
		return parseComment(text)
	}
	name, rhs, found := strings.Cut(text, "=")
	if !found {
		return Setting{}, false, fmt.Errorf("cannot parse %q: want CONFIG_NAME=value, \"# CONFIG_NAME is not set\", a # comment or a blank line", text)
	}
	if trimmed := strings.TrimSpace(name); trimmed != name && validName(trimmed) {
		return Setting{}, false, fmt.Errorf("%q has spaces around '=': Kconfig would ignore it; write %s=%s", text, trimmed, strings.TrimSpace(rhs))
	}
	if !validName(name) {
		return Setting{}, false, fmt.Errorf("bad symbol name %q: want CONFIG_ followed by letters, digits or _", name)
	}
	v, err := parseValue(rhs)
	if err != nil {
		return Setting{}, false, fmt.Errorf("%s: %w", name, err)
	}
	return Setting{Name: name, Value: v}, true, nil
}

// parseComment recognises "# CONFIG_X is not set" and refuses near misses of
// it; every other comment, a commented-out "#CONFIG_X=y" included, requests
// nothing.
func parseComment(text string) (Setting, bool, error) {
	body := strings.TrimSpace(strings.TrimPrefix(text, "#"))
	name, rest, _ := strings.Cut(body, " ")
	if !strings.HasPrefix(name, symPrefix) || !validName(name) {
		return Setting{}, false, nil
	}
	rest = strings.TrimSpace(rest)
	if rest == notSet {
		return Setting{Name: name, Value: Off}, true, nil
	}
	// Near misses: odd spacing or case ("is not  set", "IS NOT SET") and
	// small typos ("is not sett", "is not set."). Prose such as "needs",
	// "is needed by" or "is not safe" is too far from the phrase to match.
	normal := strings.ToLower(strings.Join(strings.Fields(rest), " "))
	if spelling.Distance(normal, notSet) <= 2 || normal == "not set" {
		return Setting{}, false, fmt.Errorf("comment %q is nearly \"# %s %s\": Kconfig would not read it as unset; write exactly \"# %s %s\", or reword the comment", text, name, notSet, name, notSet)
	}
	return Setting{}, false, nil
}

func validName(name string) bool {
	if !strings.HasPrefix(name, symPrefix) || len(name) == len(symPrefix) {
		return false
	}
	for _, c := range name[len(symPrefix):] {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
