package arch

import (
	"debug/elf"
	"strings"
	"testing"
)

func TestParseCanonicalAndAliases(t *testing.T) {
	cases := map[string]string{
		"x86_64": "x86_64", "amd64": "x86_64", "AMD64": "x86_64", " x86-64 ": "x86_64",
		"aarch64": "aarch64", "arm64": "aarch64",
		"s390x":   "s390x",
		"ppc64le": "ppc64le", "ppc64el": "ppc64le", "powerpc64le": "ppc64le",
	}
	for in, want := range cases {
		a, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if a.Name != want {
			t.Errorf("Parse(%q) = %s, want %s", in, a.Name, want)
		}
	}
}

func TestParseUnknownSaysWhatIsAccepted(t *testing.T) {
	_, err := Parse("riscv64")
	if err == nil {
		t.Fatal("riscv64 parsed; it is not a guestforge architecture")
	}
	for _, want := range []string{`"riscv64"`, "x86_64, aarch64, s390x, ppc64le", "arm64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// The table is the single source of truth, so its rows must not collide: two arches
// answering to one name or one ELF identity would make Parse or FromELF ambiguous.
func TestTableRowsAreUnambiguous(t *testing.T) {
	seenName := map[string]string{}
	seenELF := map[[3]int]string{}
	for _, a := range All() {
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			if prev, ok := seenName[n]; ok {
				t.Errorf("name %q used by %s and %s", n, prev, a.Name)
			}
			seenName[n] = a.Name
		}
		key := [3]int{int(a.ELFMachine), int(a.ELFClass), int(a.ELFData)}
		if prev, ok := seenELF[key]; ok {
			t.Errorf("ELF identity of %s repeats %s", a.Name, prev)
		}
		seenELF[key] = a.Name
		if a.KernelArch == "" || a.DebianArch == "" || a.GOARCH == "" || a.Triplet == "" ||
			a.KernelImage == "" || a.KernelTarget == "" || a.QEMUSystem == "" || a.Console == "" {
			t.Errorf("%s has an empty field: %+v", a.Name, a)
		}
		if got, ok := FromELF(a.ELFMachine, a.ELFClass, a.ELFData); !ok || got.Name != a.Name {
			t.Errorf("FromELF(%s identity) = %v, %v", a.Name, got.Name, ok)
		}
	}
}

func TestFromELFRejectsOtherMachines(t *testing.T) {
	if a, ok := FromELF(elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB); ok {
		t.Errorf("i386 ELF mapped to %s", a.Name)
	}
	// big-endian ppc64 is not ppc64le
	if a, ok := FromELF(elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB); ok {
		t.Errorf("big-endian ppc64 mapped to %s", a.Name)
	}
}

func TestCrossCompile(t *testing.T) {
	x86, arm := MustParse("x86_64"), MustParse("arm64")
	if got := x86.CrossCompile(x86); got != "" {
		t.Errorf("native CROSS_COMPILE = %q, want empty", got)
	}
	if got := arm.CrossCompile(x86); got != "aarch64-linux-gnu-" {
		t.Errorf("aarch64 on x86_64 CROSS_COMPILE = %q", got)
	}
}
