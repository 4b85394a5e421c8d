package kconfig

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guestforge/guestforge/internal/arch"
)

var (
	x86   = arch.MustParse("x86_64")
	arm64 = arch.MustParse("aarch64")
	s390x = arch.MustParse("s390x")
)

func mapTree(t *testing.T, files map[string]string) *Tree {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, data := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(data)}
	}
	tree, err := LoadFS(fsys, "kc")
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestMergeOrderAndOverrides(t *testing.T) {
	tree := mapTree(t, map[string]string{
		"common/a.conf":           "CONFIG_A=y\nCONFIG_B=y\nCONFIG_LOG=17\n",
		"common/b.conf":           "CONFIG_B=y\nCONFIG_C=y\n",
		"x86_64/arch.conf":        "CONFIG_LOG=18\nCONFIG_X86ONLY=y\n",
		"aarch64/arch.conf":       "CONFIG_ARMONLY=y\n",
		"variants/debug/d.conf":   "CONFIG_LOG=20\n# CONFIG_C is not set\nCONFIG_A=y\n",
		"variants/debug/x.conf":   "# guestforge: arch=aarch64\nCONFIG_ARMDEBUG=y\n",
		"common/nodebug.conf":     "# guestforge: exclude-variant=debug\nCONFIG_FAST=y\n",
		"common/no-s390.conf":     "# guestforge: exclude-arch=s390x\nCONFIG_PCI=y\n",
		"allowlist/6.12.conf":     "CONFIG_A: because\n",
		"README.md":               "not a fragment",
		"variants/debug/notes.md": "ignored",
	})
	m, err := tree.Merge(x86, "debug")
	if err != nil {
		t.Fatal(err)
	}
	want := "# guestforge merged kernel config request\n# arch=x86_64\n" +
		"CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_LOG=20\nCONFIG_PCI=y\nCONFIG_X86ONLY=y\n"
	if got := string(m.Bytes()); got != want {
		t.Errorf("Bytes:\n%s\nwant:\n%s", got, want)
	}
	wantFrags := "kc/common/a.conf kc/common/b.conf kc/common/no-s390.conf kc/x86_64/arch.conf kc/variants/debug/d.conf"
	if got := strings.Join(m.Fragments, " "); got != wantFrags {
		t.Errorf("Fragments = %s, want %s", got, wantFrags)
	}
	var ovr []string
	for _, o := range m.Overrides {
		ovr = append(ovr, o.String())
	}
	wantOvr := []string{
		"CONFIG_C: n (kc/variants/debug/d.conf:2) overrides y (kc/common/b.conf:2)",
		// 17 -> 18 -> 20: both steps are recorded.
		"CONFIG_LOG: 18 (kc/x86_64/arch.conf:1) overrides 17 (kc/common/a.conf:3)",
		"CONFIG_LOG: 20 (kc/variants/debug/d.conf:1) overrides 18 (kc/x86_64/arch.conf:1)",
	}
	if strings.Join(ovr, "\n") != strings.Join(wantOvr, "\n") {
		t.Errorf("Overrides:\n%s\nwant:\n%s", strings.Join(ovr, "\n"), strings.Join(wantOvr, "\n"))
	}
	if s, ok := m.Lookup("CONFIG_A"); !ok || s.Pos.String() != "kc/common/a.conf:1" {
		t.Errorf("CONFIG_A request = %+v, %v: an equal value in a later level keeps the first position", s, ok)
	}

	arm, err := tree.Merge(arm64, "debug")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := arm.Lookup("CONFIG_ARMDEBUG"); !ok {
		t.Error("aarch64/debug lacks CONFIG_ARMDEBUG")
	}
	if _, ok := arm.Lookup("CONFIG_X86ONLY"); ok {
		t.Error("aarch64/debug has CONFIG_X86ONLY")
	}
	def, err := tree.Merge(s390x, "")
	if err != nil {
		t.Fatal(err)
	}
	if def.Variant != DefaultVariant {
		t.Errorf("empty variant merged as %q, want %q", def.Variant, DefaultVariant)
	}
	if _, ok := def.Lookup("CONFIG_FAST"); !ok {
		t.Error("s390x/default lacks CONFIG_FAST (only debug excludes it)")
	}
	if _, ok := def.Lookup("CONFIG_PCI"); ok {
		t.Error("s390x/default has CONFIG_PCI, excluded for s390x")
	}
	if got := tree.Variants(); strings.Join(got, ",") != "default,debug" {
		t.Errorf("Variants = %v", got)
	}
}

func TestMergeStandalone(t *testing.T) {
	tree := mapTree(t, map[string]string{
		"common/a.conf":           "CONFIG_BIG=y\n",
		"x86_64/a.conf":           "CONFIG_X86BIG=y\n",
		"variants/test/base.conf": "# guestforge: standalone\nCONFIG_TINY=y\n",
		"variants/test/x86.conf":  "# guestforge: arch=x86_64\nCONFIG_SERIAL=y\n",
	})
	m, err := tree.Merge(x86, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Standalone || string(m.Bytes()) != "# guestforge merged kernel config request\n# arch=x86_64\nCONFIG_SERIAL=y\nCONFIG_TINY=y\n" {
		t.Errorf("standalone=%v bytes:\n%s", m.Standalone, m.Bytes())
	}
}

func TestMergeConflicts(t *testing.T) {
	tests := []struct {
		name, variant string
		files         map[string]string
		msg           string
	}{
		{"two files in common", DefaultVariant, map[string]string{
			"common/a.conf": "CONFIG_A=y\nCONFIG_B=y\n",
			"common/b.conf": "\n# CONFIG_B is not set\n",
		}, "kc/common/b.conf:2: conflicting CONFIG_B: n here, y at kc/common/a.conf:2"},
		{"two variant files", "v", map[string]string{
			"common/a.conf":     "CONFIG_A=y\n",
			"variants/v/a.conf": "CONFIG_N=1\n",
			"variants/v/b.conf": "CONFIG_N=0x2\n",
		}, "kc/variants/v/b.conf:1: conflicting CONFIG_N: 0x2 here, 1 at kc/variants/v/a.conf:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mapTree(t, tt.files).Merge(x86, tt.variant)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error = %v, want %q", err, tt.msg)
			}
		})
	}
	// An equal value in two files of one level is not a conflict, and a
	// conflict in a fragment excluded for this arch does not matter.
	tree := mapTree(t, map[string]string{
		"common/a.conf": "CONFIG_A=y\nCONFIG_N=16\n",
		"common/b.conf": "CONFIG_A=y\nCONFIG_N=16\n",
		"common/c.conf": "# guestforge: arch=s390x\n# CONFIG_A is not set\n",
	})
	if _, err := tree.Merge(x86, DefaultVariant); err != nil {
		t.Errorf("equal values in one level: %v", err)
	}
	if _, err := tree.Merge(s390x, DefaultVariant); err == nil {
		t.Error("s390x sees a.conf and c.conf disagree on CONFIG_A, want an error")
	}
}

func TestMergeErrors(t *testing.T) {
	tree := mapTree(t, map[string]string{
		"common/a.conf":       "CONFIG_A=y\n",
		"variants/gpu/g.conf": "# guestforge: arch=x86_64\nCONFIG_G=y\n",
	})
	if _, err := tree.Merge(x86, "nope"); err == nil || !strings.Contains(err.Error(), `unknown kernel config variant "nope": have default, gpu`) {
		t.Errorf("unknown variant: %v", err)
	}
	if _, err := tree.Merge(s390x, "gpu"); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("gpu on s390x: %v, want ErrNotApplicable", err)
	}
	if _, err := tree.Merge(arch.Arch{Name: "mips"}, DefaultVariant); err == nil {
		t.Error("merge for an arch outside the table succeeded")
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		msg   string
	}{
		{"unknown dir", map[string]string{"common/a.conf": "CONFIG_A=y\n", "x86-64/a.conf": "CONFIG_A=y\n"}, `unknown directory "x86-64"`},
		{"no common", map[string]string{"x86_64/a.conf": "CONFIG_A=y\n"}, "no common/*.conf"},
		{"nested", map[string]string{"common/a.conf": "CONFIG_A=y\n", "common/sub/b.conf": "CONFIG_B=y\n"}, "nested directories"},
		{"syntax anywhere", map[string]string{"common/a.conf": "CONFIG_A=y\n", "variants/x/a.conf": "CONFIG_A=yes\n"}, "kc/variants/x/a.conf:1"},
		{"reserved variant", map[string]string{"common/a.conf": "CONFIG_A=y\n", "variants/default/a.conf": "CONFIG_A=y\n"}, "reserved"},
		{"empty variant", map[string]string{"common/a.conf": "CONFIG_A=y\n", "variants/x/README.md": "x"}, "no *.conf fragments"},
		{"bad allowlist", map[string]string{"common/a.conf": "CONFIG_A=y\n", "allowlist/6.12.conf": "CONFIG_A\n"}, "kc/allowlist/6.12.conf:1: allowlist entry needs a reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, d := range tt.files {
				fsys[p] = &fstest.MapFile{Data: []byte(d)}
			}
			_, err := LoadFS(fsys, "kc")
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("LoadFS error = %v, want %q", err, tt.msg)
			}
		})
	}
}

func TestConfigID(t *testing.T) {
	base := map[string]string{
		"common/a.conf": "CONFIG_A=y\nCONFIG_S=\"x\"\n",
		"common/b.conf": "CONFIG_B=16\n",
	}
	id := func(files map[string]string, a arch.Arch) string {
		t.Helper()
		m, err := mapTree(t, files).Merge(a, DefaultVariant)
		if err != nil {
			t.Fatal(err)
		}
		return m.ID()
	}
	ref := id(base, x86)
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(ref) {
		t.Fatalf("ID %q is not 12 hex digits", ref)
	}
	if again := id(base, x86); again != ref {
		t.Errorf("ID not stable: %s then %s", ref, again)
	}
	// Same requests, reorganised files and comments: same id.
	moved := map[string]string{
		"common/z.conf": "# moved here\n\nCONFIG_B=16\nCONFIG_A=y\n",
		"common/a.conf": "CONFIG_S=\"x\"\n",
	}
	if got := id(moved, x86); got != ref {
		t.Errorf("reorganised fragments changed the id: %s -> %s", ref, got)
	}
	changes := map[string]map[string]string{
		"value":   {"common/a.conf": "CONFIG_A=m\nCONFIG_S=\"x\"\n", "common/b.conf": "CONFIG_B=16\n"},
		"string":  {"common/a.conf": "CONFIG_A=y\nCONFIG_S=\"y\"\n", "common/b.conf": "CONFIG_B=16\n"},
		"number":  {"common/a.conf": "CONFIG_A=y\nCONFIG_S=\"x\"\n", "common/b.conf": "CONFIG_B=17\n"},
		"added":   {"common/a.conf": "CONFIG_A=y\nCONFIG_S=\"x\"\n", "common/b.conf": "CONFIG_B=16\n# CONFIG_C is not set\n"},
		"removed": {"common/a.conf": "CONFIG_A=y\n", "common/b.conf": "CONFIG_B=16\n"},
	}
	for name, files := range changes {
		if got := id(files, x86); got == ref {
			t.Errorf("%s change kept id %s", name, ref)
		}
	}
	if got := id(base, arm64); got == ref {
		t.Errorf("same requests for another arch kept id %s", ref)
	}
	// Pin the scheme: the first 12 hex digits of sha256 over the canonical bytes
	// (printf "# guestforge merged kernel config request\n# arch=x86_64\nCONFIG_A=y\nCONFIG_B=16\nCONFIG_S=\"x\"\n" | sha256sum).
	if ref != "02dfd4f74577" {
		t.Errorf("ID = %s; the canonical bytes or the hash changed (update the pin only on purpose: every config id changes)", ref)
	}
}
