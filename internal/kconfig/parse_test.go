package kconfig

import (
	"errors"
	"fmt"
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
		{"space before =", "CONFIG_A =y\n", 1, `"CONFIG_A =y" has spaces around '=': Kconfig would ignore it; write CONFIG_A=y`},
		{"spaces around =", "# ok\nCONFIG_A = y\n", 2, "write CONFIG_A=y"},
		{"junk line", "CONFIG_A=y\nselect FOO\n", 2, `cannot parse "select FOO"`},
		{"empty value", "CONFIG_A=\n", 1, "bad value"},
		{"word value", "CONFIG_A=yes\n", 1, "bad value"},
		{"inline comment", "CONFIG_A=y # why\n", 1, "bad value"},
		{"bad number", "CONFIG_A=12a\n", 1, "bad number"},
		{"bad hex", "CONFIG_A=0xZZ\n", 1, "bad hex"},
		{"empty hex", "CONFIG_A=0x\n", 1, "bad hex"},
		{"unterminated", "CONFIG_A=\"abc\n", 1, "unterminated"},
		{"bad escape", `CONFIG_A="a\nb"` + "\n", 1, "bad escape"},
		{"trailing text", `CONFIG_A="a"b` + "\n", 1, "after the closing quote"},
		{"typo not set", "# CONFIG_A is not sett\n", 1, `comment "# CONFIG_A is not sett" is nearly "# CONFIG_A is not set"`},
		{"double space not set", "# CONFIG_A is not  set\n", 1, `write exactly "# CONFIG_A is not set"`},
		{"tab not set", "# CONFIG_A is\tnot set\n", 1, "is nearly"},
		{"upper case not set", "# CONFIG_A IS NOT SET\n", 1, "is nearly"},
		{"trailing dot not set", "# CONFIG_A is not set.\n", 1, "is nearly"},
		{"missing is", "# CONFIG_A not set\n", 1, "is nearly"},
		{"isnot", "#CONFIG_A isnot set\n", 1, "is nearly"},
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

// Kata Containers' fragments comment settings out ("#CONFIG_X=y") and write
// prose that starts with a symbol name; none of it requests anything.
func TestParseCommentsRequestNothing(t *testing.T) {
	for _, line := range []string{
		"#CONFIG_9P_FSCACHE=y",
		"# CONFIG_XFRM_MIGRATE=y",
		"#   CONFIG_A=m",
		"# CONFIG_CGROUP_PERF needs",
		"# CONFIG_A is needed by B",
		"# CONFIG_A is not safe",
		"# CONFIG_A is not set by default on arm64, so it is listed",
		"# CONFIG_A",
		"# PHYSICAL_ALIGN=0x1000000",
		"#!powerpc",
		"# !s390x !powerpc !riscv",
		"# SPDX-License-Identifier: Apache-2.0",
		"### FIXME - review ###",
		"#",
		"# guestforge is not a directive without the colon",
	} {
		f, err := Parse("kata.conf", []byte("CONFIG_KEEP=y\n"+line+"\n"))
		if err != nil {
			t.Errorf("Parse(%q): %v", line, err)
			continue
		}
		if len(f.Settings) != 1 || f.Settings[0].Name != "CONFIG_KEEP" {
			t.Errorf("Parse(%q) = %+v, want only CONFIG_KEEP", line, f.Settings)
		}
	}
}

// One run reports every error of a file, each with its line, and errors.As
// still finds an *Error (the first).
func TestParseReportsEveryError(t *testing.T) {
	text := "CONFIG_A=y\nCONFIG_B = y\n# CONFIG_C is not sett\nCONFIG_D=yes\nCONFIG_A=y\n"
	_, err := Parse("frag.conf", []byte(text))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error = %v, want an ErrorList", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Pos.Line)
	}
	if fmt.Sprint(lines) != "[2 3 4 5]" {
		t.Errorf("error lines = %v, want [2 3 4 5]:\n%v", lines, err)
	}
	want := `frag.conf:2: "CONFIG_B = y" has spaces around '=': Kconfig would ignore it; write CONFIG_B=y
frag.conf:3: comment "# CONFIG_C is not sett" is nearly "# CONFIG_C is not set": Kconfig would not read it as unset; write exactly "# CONFIG_C is not set", or reword the comment
frag.conf:4: CONFIG_D: bad value "yes": want y, m, n, a decimal number, 0x-prefixed hex or a "double-quoted string"
frag.conf:5: CONFIG_A is already set at line 1 of this file: keep one`
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
	var first *Error
	if !errors.As(err, &first) || first.Pos.Line != 2 {
		t.Errorf("errors.As(*Error) = %v, want the line 2 error", first)
	}
}

func TestErrorListCap(t *testing.T) {
	text := strings.Repeat("junk\n", MaxReported+5)
	_, err := Parse("junk.conf", []byte(text))
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	if len(lines) != MaxReported+1 || lines[MaxReported] != "and 5 more" {
		t.Errorf("%d lines, last %q; want %d errors then \"and 5 more\"", len(lines), lines[len(lines)-1], MaxReported)
	}
	if !strings.HasPrefix(lines[MaxReported-1], fmt.Sprintf("junk.conf:%d: cannot parse", MaxReported)) {
		t.Errorf("last listed error %q", lines[MaxReported-1])
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
