package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a manifest or image definition, at the
// position in the file where it was written.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem concerns the whole file
	Column int // 1-based; 0 when only the line is known (YAML syntax errors)
	Msg    string
}

// Error renders the problem the way compilers do, so editors can jump to it:
// "toolchain.yaml:14:9: ...".
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Errors is every problem found in one file, sorted by position. The loaders
// return all of them at once so a user fixes a manifest in one pass.
type Errors []*Error

// maxRendered caps how many problems Error prints: a hostile file can hold
// millions, and the first screenful is what a user fixes first.
const maxRendered = 20

// Error renders one problem per line, at most maxRendered of them, then
// how many more there are.
func (es Errors) Error() string {
	lines := make([]string, 0, min(len(es), maxRendered)+1)
	for i, e := range es {
		if i == maxRendered {
			lines = append(lines, fmt.Sprintf("and %d more", len(es)-maxRendered))
			break
		}
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is/As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders problems by position; the sort is stable so problems found at
// the same node keep the order in which the checks ran.
func (es Errors) sorted() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return es
}

// orNil returns nil for an empty list so callers can `return t, errs.orNil()`
// without handing back a non-nil error interface holding an empty slice.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es.sorted()
}
