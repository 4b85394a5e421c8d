package kconfig

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Kind is the syntactic type of a requested value. Fragments do not know the
// Kconfig type of a symbol; the kind is what the right-hand side looks like.
type Kind int

const (
	// Tristate is y, m or n (n also comes from "# CONFIG_X is not set").
	Tristate Kind = iota
	// Number is a decimal integer, possibly negative.
	Number
	// Hex is 0x followed by hex digits.
	Hex
	// String is a double-quoted string.
	String
)

func (k Kind) String() string {
	switch k {
	case Tristate:
		return "tristate"
	case Number:
		return "number"
	case Hex:
		return "hex"
	case String:
		return "string"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Value is one requested or observed symbol value. Text is canonical: "y",
// "m", "n"; a decimal without leading zeros; 0x + lower-case hex without
// leading zeros; or the unescaped string contents.
type Value struct {
	Kind Kind
	Text string
}

// Off is the value of a symbol that is absent or "is not set".
var Off = Value{Kind: Tristate, Text: "n"}

// IsOff reports whether v is n.
func (v Value) IsOff() bool { return v.Kind == Tristate && v.Text == "n" }

// Equal compares canonical values. Kinds must match: Kconfig reads "16" for
// a hex symbol as 0x16 and refuses "0x10" for an int symbol, so 16 and 0x10
// are different requests.
func (v Value) Equal(w Value) bool { return v == w }

// String renders the value as it appears after "CONFIG_X=" (n renders as "n";
// Line renders the "is not set" form).
func (v Value) String() string {
	if v.Kind == String {
		return quote(v.Text)
	}
	return v.Text
}

// Line renders one .config line for symbol name with this value.
func (v Value) Line(name string) string {
	if v.IsOff() {
		return "# " + name + " is not set"
	}
	return name + "=" + v.String()
}

var errValue = errors.New(`want y, m, n, a decimal number, 0x-prefixed hex or a "double-quoted string"`)

// parseValue parses the right-hand side of CONFIG_X=<rhs>.
func parseValue(rhs string) (Value, error) {
	switch {
	case rhs == "y" || rhs == "m" || rhs == "n":
		return Value{Kind: Tristate, Text: rhs}, nil
	case strings.HasPrefix(rhs, `"`):
		s, err := unquote(rhs)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: String, Text: s}, nil
	case strings.HasPrefix(rhs, "0x") || strings.HasPrefix(rhs, "0X"):
		digits := rhs[2:]
		if digits == "" || strings.Trim(digits, "0123456789abcdefABCDEF") != "" {
			return Value{}, fmt.Errorf("bad hex number %q: %w", rhs, errValue)
		}
		digits = strings.TrimLeft(strings.ToLower(digits), "0")
		if digits == "" {
			digits = "0"
		}
		return Value{Kind: Hex, Text: "0x" + digits}, nil
	case rhs != "" && (rhs[0] == '-' || (rhs[0] >= '0' && rhs[0] <= '9')):
		n, ok := new(big.Int).SetString(rhs, 10)
		if !ok {
			return Value{}, fmt.Errorf("bad number %q: %w", rhs, errValue)
		}
		return Value{Kind: Number, Text: n.String()}, nil
	}
	return Value{}, fmt.Errorf("bad value %q: %w", rhs, errValue)
}

// unquote reads a Kconfig string: the only escapes Kconfig writes are \" and
// \\, so anything else is a typo we refuse rather than guess at.
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' {
		return "", fmt.Errorf("bad string %s: %w", s, errValue)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", fmt.Errorf(`bad escape in string %s: only \" and \\ are allowed`, s)
			}
			i++
			b.WriteByte(s[i])
		case '"':
			if i != len(s)-1 {
				return "", fmt.Errorf("text after the closing quote in %s", s)
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated string %s: add the closing \"", s)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
