package kconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValues(t *testing.T) {
	tests := []struct {
		line string
		want Value
	}{
		{"CONFIG_A=y", Value{Tristate, "y"}},
		{"CONFIG_A=m", Value{Tristate, "m"}},
		{"CONFIG_A=n", Value{Tristate, "n"}},
		{"# CONFIG_A is not set", Value{Tristate, "n"}},
		{"#CONFIG_A is not set", Value{Tristate, "n"}},
		{"CONFIG_A=17", Value{Number, "17"}},
		{"CONFIG_A=-1", Value{Number, "-1"}},
		{"CONFIG_A=007", Value{Number, "7"}},
		{"CONFIG_A=0", Value{Number, "0"}},
		{"CONFIG_A=0x1F", Value{Hex, "0x1f"}},
		{"CONFIG_A=0x0000", Value{Hex, "0x0"}},
		{`CONFIG_A=""`, Value{String, ""}},
		{`CONFIG_A="console=ttyS0 quiet"`, Value{String, "console=ttyS0 quiet"}},
		{`CONFIG_A="say \"hi\" \\ bye"`, Value{String, `say "hi" \ bye`}},
		{`CONFIG_A="#not a comment"`, Value{String, "#not a comment"}},
		{"  CONFIG_A=y  \r", Value{Tristate, "y"}},
		{"CONFIG_lower_Case9=y", Value{Tristate, "y"}},
	}
	for _, tt := range tests {
		f, err := Parse("t.conf", []byte(tt.line+"\n"))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if len(f.Settings) != 1 {
			t.Errorf("Parse(%q): %d settings, want 1", tt.line, len(f.Settings))
			continue
		}
		if got := f.Settings[0].Value; got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"no equals", "CONFIG_A=y\nCONFIG_B\n", 2, "want CONFIG_NAME=value"},
		{"not a symbol", "FOO=y\n", 1, "bad symbol name"},
		{"bare prefix", "CONFIG_=y\n", 1, "bad symbol name"},
		{"space before =", "CONFIG_A =y\n", 1, "bad symbol name"},
		{"empty value", "CONFIG_A=\n", 1, "bad value"},
		{"word value", "CONFIG_A=yes\n", 1, "bad value"},
		{"inline comment", "CONFIG_A=y # why\n", 1, "bad value"},
		{"bad number", "CONFIG_A=12a\n", 1, "bad number"},
		{"bad hex", "CONFIG_A=0xZZ\n", 1, "bad hex"},
		{"empty hex", "CONFIG_A=0x\n", 1, "bad hex"},
		{"unterminated", "CONFIG_A=\"abc\n", 1, "unterminated"},
		{"bad escape", `CONFIG_A="a\nb"` + "\n", 1, "bad escape"},
		{"trailing text", `CONFIG_A="a"b` + "\n", 1, "after the closing quote"},
		{"typo not set", "# CONFIG_A is not sett\n", 1, "looks like a setting"},
		{"comment about symbol", "# CONFIG_A is needed by B\n", 1, "looks like a setting"},
		{"duplicate in file", "CONFIG_A=y\n\nCONFIG_A=y\n", 3, "already set at line 1"},
		{"directive after setting", "CONFIG_A=y\n# guestforge: arch=x86_64\n", 2, "after the first setting"},
		{"unknown directive", "# guestforge: archs=x86_64\n", 1, "unknown directive"},
		{"unknown arch", "# guestforge: arch=mips\n", 1, "unknown architecture"},
		{"empty directive", "# guestforge:\n", 1, "empty"},
		{"directive without value", "# guestforge: arch\n", 1, "needs a value"},
		{"bad variant", "# guestforge: exclude-variant=Debug\n", 1, "bad variant name"},
		{"select and exclude", "# guestforge: arch=s390x exclude-arch=s390\n", 1, "both selected and excluded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("frag.conf", []byte(tt.text))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse error = %v, want *Error", err)
			}
			if perr.Pos.File != "frag.conf" || perr.Pos.Line != tt.line {
				t.Errorf("position %s, want frag.conf:%d", perr.Pos, tt.line)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), perr.Pos.String()+": ") {
				t.Errorf("error %q: want prefix %q and %q", err, perr.Pos.String()+": ", tt.msg)
			}
		})
	}
}

func TestParseCommentsAndDirectives(t *testing.T) {
	text := `# guestforge: arch=amd64,arm64 exclude-variant=debug
# guestforge: variant=default,gpu

# A comment mentioning CONFIG_X in the middle is fine.
#
CONFIG_A=y
# CONFIG_B is not set
`
	f, err := Parse("x.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Selector{Arches: []string{"x86_64", "aarch64"}, ExcludeVariants: []string{"debug"}, Variants: []string{"default", "gpu"}}
	if strings.Join(f.Select.Arches, ",") != "x86_64,aarch64" || strings.Join(f.Select.Variants, ",") != "default,gpu" ||
		strings.Join(f.Select.ExcludeVariants, ",") != "debug" || f.Select.Standalone {
		t.Errorf("selector = %+v, want %+v (aliases canonicalised)", f.Select, want)
	}
	if len(f.Settings) != 2 || f.Settings[0].Pos.Line != 6 || f.Settings[1].Pos.Line != 7 || !f.Settings[1].Value.IsOff() {
		t.Errorf("settings = %+v", f.Settings)
	}
	for _, c := range []struct {
		arch, variant string
		want          bool
	}{
		{"x86_64", "default", true}, {"aarch64", "gpu", true}, {"x86_64", "debug", false},
		{"s390x", "default", false}, {"x86_64", "test", false},
	} {
		if got := f.Select.Applies(c.arch, c.variant); got != c.want {
			t.Errorf("Applies(%s, %s) = %v, want %v", c.arch, c.variant, got, c.want)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, line := range []string{
		"CONFIG_A=y", "# CONFIG_A is not set", "CONFIG_A=-5", "CONFIG_A=0xff",
		`CONFIG_A="x \"q\" \\"`, `CONFIG_A=""`,
	} {
		f, err := Parse("t", []byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Settings[0].Line(); got != line {
			t.Errorf("round trip %q -> %q", line, got)
		}
	}
}

func TestValueEqual(t *testing.T) {
	tests := []struct {
		a, b Value
		want bool
	}{
		{Value{Tristate, "y"}, Value{Tristate, "y"}, true},
		{Value{Tristate, "y"}, Value{Tristate, "m"}, false},
		{Value{Number, "16"}, Value{Hex, "0x10"}, false},
		{Value{Number, "16"}, Value{Hex, "0x16"}, false},
		{Value{String, "1"}, Value{Number, "1"}, false},
		{Value{Tristate, "n"}, Value{Number, "0"}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
