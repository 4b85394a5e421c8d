package kconfig

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, errors always carry a position inside the
// input, and whatever parses re-renders (canonical lines) to the same settings.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"CONFIG_A=y\n# CONFIG_B is not set\n",
		"# guestforge: arch=x86_64 exclude-variant=debug\nCONFIG_A=0x10\n",
		"# guestforge: standalone\nCONFIG_S=\"a \\\"b\\\" \\\\\"\nCONFIG_N=-3\n",
		"CONFIG_A=\"unterminated\n",
		"# CONFIG_A is not sett\n",
		"garbage",
		"\r\n\t\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frag, err := Parse("fuzz.conf", data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error without position: %v", err)
			}
			if perr.Pos.Line < 1 || perr.Pos.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error line %d outside the input: %v", perr.Pos.Line, err)
			}
			return
		}
		var out bytes.Buffer
		for _, s := range frag.Settings {
			out.WriteString(s.Line())
			out.WriteByte('\n')
		}
		again, err := Parse("again.conf", out.Bytes())
		if err != nil {
			t.Fatalf("canonical output does not parse: %v\n%s", err, out.Bytes())
		}
		if len(again.Settings) != len(frag.Settings) {
			t.Fatalf("%d settings became %d", len(frag.Settings), len(again.Settings))
		}
		for i, s := range frag.Settings {
			if a := again.Settings[i]; a.Name != s.Name || a.Value != s.Value {
				t.Fatalf("round trip changed %s=%v into %s=%v", s.Name, s.Value, a.Name, a.Value)
			}
		}
	})
}
