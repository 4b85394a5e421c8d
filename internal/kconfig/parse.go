package kconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
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

// DirectivePrefix starts a header directive line in a fragment.
const DirectivePrefix = "# guestforge:"

const symPrefix = "CONFIG_"

// Parse reads one fragment. path is used in positions and errors only.
// Accepted lines: blank; "CONFIG_X=<y|m|n|number|0xhex|"string">";
// "# CONFIG_X is not set"; "# guestforge: ..." directives before the first
// setting; any other comment, except one that starts with "# CONFIG_" without
// being the exact "is not set" form (almost always a typo that would silently
// drop a request). Parse also accepts a full .config written by Kconfig.
func Parse(path string, data []byte) (*Fragment, error) {
	f := &Fragment{Path: path}
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
				return nil, &Error{pos, errors.New("guestforge directive after the first setting: move it to the header of the file")}
			}
			if err := f.Select.parse(strings.TrimPrefix(text, DirectivePrefix)); err != nil {
				return nil, &Error{pos, err}
			}
			continue
		}
		s, ok, err := parseLine(text)
		if err != nil {
			return nil, &Error{pos, err}
		}
		if !ok {
			continue
		}
		s.Pos = pos
		if prev, dup := seen[s.Name]; dup {
			return nil, &Error{pos, fmt.Errorf("%s is already set at line %d of this file: keep one", s.Name, prev)}
		}
		seen[s.Name] = line
		f.Settings = append(f.Settings, s)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{Pos{path, line + 1}, fmt.Errorf("reading fragment: %w", err)}
	}
	return f, nil
}

// parseLine returns ok=false for a comment.
func parseLine(text string) (Setting, bool, error) {
	if strings.HasPrefix(text, "#") {
		body := strings.TrimSpace(strings.TrimPrefix(text, "#"))
		if !strings.HasPrefix(body, symPrefix) {
			return Setting{}, false, nil
		}
		name, rest, _ := strings.Cut(body, " ")
		if rest != "is not set" || !validName(name) {
			return Setting{}, false, fmt.Errorf("comment %q looks like a setting: write \"# CONFIG_NAME is not set\" or CONFIG_NAME=n, or reword the comment", text)
		}
		return Setting{Name: name, Value: Off}, true, nil
	}
	name, rhs, found := strings.Cut(text, "=")
	if !found {
		return Setting{}, false, fmt.Errorf("cannot parse %q: want CONFIG_NAME=value, \"# CONFIG_NAME is not set\", a # comment or a blank line", text)
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
