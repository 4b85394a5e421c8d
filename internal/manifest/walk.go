package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/guestforge/guestforge/internal/spelling"
)

// walker turns a yaml.Node tree into typed values, recording one Error per
// problem instead of stopping at the first. Decoding into structs with
// KnownFields would stop at the first problem and lose columns; walking the
// nodes ourselves keeps every position.
type walker struct {
	file string
	errs Errors
}

func (w *walker) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	w.errs = append(w.errs, &Error{File: w.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// syntaxLine matches yaml.v3's "yaml: line N: msg" errors.
var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (w *walker) syntaxError(err error, data []byte) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	line := 0
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		line = lineOfSyntaxError(data, err.Error())
	}
	w.errs = append(w.errs, &Error{File: w.file, Line: line,
		Msg: "invalid YAML: " + msg + " (check indentation, quotes and colons on this line and the one before)"})
}

// lineOfSyntaxError finds the line of a YAML error that yaml.v3 reports
// without one (control characters, invalid UTF-8, unknown escapes and
// anchors, a tab where a token starts): the shortest prefix of whole lines
// that fails with the same message ends on the offending line. Bisection
// keeps it to a few dozen decodes even for a file at the size limit.
// It returns 0 when no prefix reproduces the message.
func lineOfSyntaxError(data []byte, msg string) int {
	ends := []int{} // ends[i] is the offset just past line i+1
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(lines int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(data[:ends[lines-1]]))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			return err.Error() == msg
		}
	}
	if !fails(len(ends)) {
		return 0
	}
	lo, hi := 1, len(ends)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// document parses data into its single YAML document and returns the
// document's root node, or nil after recording why it could not.
func (w *walker) document(data []byte) (root *yaml.Node) {
	// yaml.v3 reports its own errors as values, but any panic from a parser
	// bug must still end as an error: a manifest loader never crashes.
	defer func() {
		if r := recover(); r != nil {
			root = nil
			w.errs = append(w.errs, &Error{File: w.file,
				Msg: fmt.Sprintf("YAML parser failed (%v): simplify the file or report this input as a bug", r)})
		}
	}()
	if len(bytes.TrimSpace(data)) == 0 {
		w.errs = append(w.errs, &Error{File: w.file, Msg: "file is empty: write the manifest (see toolchain.yaml in the repository root for the layout)"})
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			w.errs = append(w.errs, &Error{File: w.file, Msg: "file holds only comments: write the manifest"})
			return nil
		}
		w.syntaxError(err, data)
		return nil
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		w.syntaxError(err, data)
		return nil
	default:
		w.errorf(&second, "a second YAML document starts here: the file holds exactly one; remove the extra '---' and what follows or merge it into the first")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		w.errs = append(w.errs, &Error{File: w.file, Msg: "file holds no YAML document: write the manifest"})
		return nil
	}
	return doc.Content[0]
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (*" + n.Value + ")"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "empty (null)"
		case "!!int", "!!float":
			return "the number " + v
		case "!!bool":
			return "the boolean " + v
		case "!!str", "!!timestamp":
			return strconv.Quote(v)
		default:
			return "a value tagged " + n.Tag
		}
	}
	return "an unexpected YAML node"
}

// noAlias records an error for alias nodes. Manifests are read by people
// checking what a build pins, so values are written where they apply; this
// also keeps the walk linear in the input (no alias expansion bombs).
func (w *walker) noAlias(n *yaml.Node, what string) bool {
	if n.Kind == yaml.AliasNode {
		w.errorf(n, "%s: YAML aliases (*%s) are not supported: write the value out where it is used", what, n.Value)
		return false
	}
	return true
}

// str reads a string scalar. Numbers and booleans are rejected rather than
// converted, because YAML silently turns 1.10 into 1.1 and "no" into false.
func (w *walker) str(n *yaml.Node, what string) (string, bool) {
	if !w.noAlias(n, what) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		w.errorf(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		return n.Value, true
	case "!!null":
		w.errorf(n, "%s is empty: write a value", what)
	case "!!int", "!!float", "!!bool":
		w.errorf(n, "%s must be a string, not %s: quote it (%s: %q)", what, describe(n), lastPart(what), n.Value)
	default:
		w.errorf(n, "%s must be a plain string, not %s: remove the tag", what, describe(n))
	}
	return "", false
}

// nonEmpty reads a string scalar that must not be blank.
func (w *walker) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := w.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		w.errorf(n, "%s is blank: write a value", what)
		return "", false
	}
	return s, ok
}

var wholeNumber = regexp.MustCompile(`^[-+]?[0-9]+$`)

// integer reads an integer scalar.
func (w *walker) integer(n *yaml.Node, what string) (int64, bool) {
	if !w.noAlias(n, what) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && wholeNumber.MatchString(n.Value) {
		// yaml.v3 resolves an integer too long for int64 as a float.
		w.errorf(n, "%s: %q is out of range: an integer here is from -9223372036854775808 to 9223372036854775807", what, n.Value)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		w.errorf(n, "%s must be an integer, not %s", what, describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		w.errorf(n, "%s: %q is out of range: an integer here is from -9223372036854775808 to 9223372036854775807", what, n.Value)
		return 0, false
	}
	return v, true
}

// boolean reads true/false.
func (w *walker) boolean(n *yaml.Node, what string) (bool, bool) {
	if !w.noAlias(n, what) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		w.errorf(n, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		w.errorf(n, "%s must be true or false, not %q", what, n.Value)
		return false, false
	}
	return v, true
}

// dateLayout is the only date format manifests use: ISO 8601 calendar dates.
const dateLayout = "2006-01-02"

// date reads a YYYY-MM-DD date (quoted or not) and returns it normalised.
func (w *walker) date(n *yaml.Node, what string) (string, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return "", false
	}
	if _, err := time.Parse(dateLayout, s); err != nil {
		w.errorf(n, "%s: %q is not a date: write YYYY-MM-DD, e.g. \"2027-01-31\"", what, s)
		return "", false
	}
	return s, true
}

// list reads a sequence. A null value (key with nothing after it) is an error
// too: an empty list is written [] so that an accidentally emptied key is seen.
func (w *walker) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if !w.noAlias(n, what) {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			hint = ": write [] for an empty list"
		} else if n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(": write [%s]", n.Value)
		}
		w.errorf(n, "%s must be a list, not %s%s", what, describe(n), hint)
		return nil, false
	}
	return n.Content, true
}

// strList reads a list of non-blank strings and rejects duplicates.
func (w *walker) strList(n *yaml.Node, what string) ([]string, bool) {
	items, ok := w.list(n, what)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	seen := map[string]*yaml.Node{}
	allOK := true
	for i, it := range items {
		s, ok := w.nonEmpty(it, fmt.Sprintf("%s[%d]", what, i))
		if !ok {
			allOK = false
			continue
		}
		if first, dup := seen[s]; dup {
			w.errorf(it, "%s lists %q twice (first at line %d): remove one", what, s, first.Line)
			allOK = false
			continue
		}
		seen[s] = it
		out = append(out, s)
	}
	return out, allOK
}

// field is one allowed key of a mapping and what to do with its value.
type field struct {
	key      string
	required bool
	example  string // shown when the key is missing
	fn       func(key, val *yaml.Node)
}

// mapping checks n is a mapping whose keys are all known, present once, and
// required ones present; it calls each field's fn for the keys it holds.
func (w *walker) mapping(n *yaml.Node, what string, fields []field) bool {
	if !w.noAlias(n, what) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			hint = ": write its keys indented below it or as {key: value}"
		}
		w.errorf(n, "%s must be a mapping (key: value), not %s%s", what, describe(n), hint)
		return false
	}
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.key
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!merge") {
			w.errorf(k, "%s: keys must be plain words, not %s", what, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errorf(k, "%s: key %q appears twice (first at line %d): remove one", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		f := findField(fields, k.Value)
		if f == nil {
			w.errorf(k, "%s: unknown key %q%s", what, k.Value, suggest(k.Value, known))
			continue
		}
		if f.fn != nil {
			f.fn(k, v)
		}
	}
	for _, f := range fields {
		if _, ok := seen[f.key]; f.required && !ok {
			ex := ""
			if f.example != "" {
				ex = ", e.g. " + f.example
			}
			w.errorf(n, "%s: missing key %q: add it%s", what, f.key, ex)
		}
	}
	return true
}

func findField(fields []field, key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// suggest renders "did you mean" for a close known word, else lists them all.
func suggest(got string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := spelling.Distance(strings.ToLower(got), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && (bestD <= 2 || bestD*3 <= len(best)) {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	return ": allowed keys are " + strings.Join(known, ", ")
}

// lastPart is the final key of a dotted path ("toolchains.go.version" -> "version").
func lastPart(what string) string {
	if i := strings.LastIndexAny(what, ".]"); i >= 0 && i+1 < len(what) {
		return what[i+1:]
	}
	return what
}
