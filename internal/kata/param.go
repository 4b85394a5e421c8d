package kata

import "strings"

// Param is one kernel command-line parameter. An empty Value prints the bare
// Key (as in "quiet"); Kata keeps parameters as ordered pairs rather than a map
// because the kernel honours the last occurrence, and some keys
// (console, systemd.mask) legitimately repeat.
type Param struct {
	Key   string
	Value string
}

// String renders p the way Kata's SerializeParams does with delimiter "=".
func (p Param) String() string {
	switch {
	case p.Key == "":
		return p.Value
	case p.Value == "":
		return p.Key
	default:
		return p.Key + "=" + p.Value
	}
}

// JoinParams renders params as one command line, skipping empty pairs, in the
// order given (Kata: hypervisor.go SerializeParams, joined with one space in
// qemu.go kernelParameters).
func JoinParams(params []Param) string {
	parts := make([]string, 0, len(params))
	for _, p := range params {
		if s := p.String(); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// SplitParams parses a configuration.toml kernel_params value the way Kata
// does (hypervisor.go KernelParamFields then DeserializeParams): split on
// spaces outside double quotes, then at the first "=" of each field.
func SplitParams(s string) []Param {
	var fields []string
	start, inQuote := 0, false
	for i, c := range s {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == ' ' && !inQuote:
			if f := strings.TrimSpace(s[start:i]); f != "" {
				fields = append(fields, f)
			}
			start = i + 1
		}
	}
	if f := strings.TrimSpace(s[start:]); f != "" {
		fields = append(fields, f)
	}
	params := make([]Param, 0, len(fields))
	for _, f := range fields {
		key, value, _ := strings.Cut(f, "=")
		params = append(params, Param{Key: key, Value: value})
	}
	return params
}
