package kconfig

import (
	"errors"
	"strings"
	"testing"
)

const dotConfigHeader = `#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.12.117 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
`

func TestVerify(t *testing.T) {
	tree := mapTree(t, map[string]string{
		"common/a.conf": `CONFIG_KEPT=y
CONFIG_DROPPED=y
# CONFIG_OFF_ABSENT is not set
# CONFIG_OFF_NOTSET is not set
CONFIG_OFF_BUT_ON=n
CONFIG_MOD=m
CONFIG_NUM=17
CONFIG_HEX=0x10
CONFIG_STR="console=ttyS0"
CONFIG_STR2="a"
CONFIG_EXCUSED=y
CONFIG_EXCUSED_ELSEWHERE=y
`,
		"allowlist/6.12.conf": `# reasons
CONFIG_EXCUSED arch=x86_64: gone in 6.12
CONFIG_EXCUSED_ELSEWHERE arch=aarch64: only an arm64 problem
CONFIG_STALE variant=default: nothing needs this any more
CONFIG_OTHER_VARIANT variant=debug: out of scope here
`,
	})
	m, err := tree.Merge(x86, DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	allow, err := tree.Allowlist("6.12")
	if err != nil {
		t.Fatal(err)
	}
	final := dotConfigHeader + `CONFIG_KEPT=y
# CONFIG_OFF_NOTSET is not set
CONFIG_OFF_BUT_ON=y
CONFIG_MOD=y
CONFIG_NUM=17
CONFIG_HEX=0x10
CONFIG_STR="console=ttyS0"
CONFIG_STR2="b"
# CONFIG_EXCUSED_ELSEWHERE is not set
`
	r, err := m.Verify([]byte(final), allow)
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("Verify error = %v, want *VerifyError", err)
	}
	var got []string
	for _, f := range r.Failures {
		got = append(got, f.String())
	}
	want := []string{
		"CONFIG_DROPPED: wanted y, got absent (dependencies unmet or no such symbol) (requested at kc/common/a.conf:2)",
		"CONFIG_EXCUSED_ELSEWHERE: wanted y, got n (is not set) (requested at kc/common/a.conf:12)",
		`CONFIG_MOD: wanted m, got y (requested at kc/common/a.conf:6)`,
		"CONFIG_OFF_BUT_ON: wanted n, got y (requested at kc/common/a.conf:5)",
		`CONFIG_STR2: wanted "a", got "b" (requested at kc/common/a.conf:10)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Excused) != 1 || r.Excused[0].Want.Name != "CONFIG_EXCUSED" ||
		!strings.HasSuffix(r.Excused[0].String(), "allowed by kc/allowlist/6.12.conf:2: gone in 6.12") {
		t.Errorf("excused = %v", r.Excused)
	}
	if len(r.UnusedAllow) != 1 || r.UnusedAllow[0].Name != "CONFIG_STALE" {
		t.Errorf("unused allow entries = %+v, want only CONFIG_STALE (the others are out of scope)", r.UnusedAllow)
	}
	if r.Checked != 12 {
		t.Errorf("checked %d, want 12", r.Checked)
	}
	msg := err.Error()
	for _, part := range append(want, "kernel config x86_64/default: 5 requested symbol(s)", "excuse it with a reason in kc/allowlist/6.12.conf") {
		if !strings.Contains(msg, part) {
			t.Errorf("error lacks %q:\n%s", part, msg)
		}
	}
}

func TestVerifyPasses(t *testing.T) {
	tree := mapTree(t, map[string]string{"common/a.conf": "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=n\n"})
	m, err := tree.Merge(x86, DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Verify([]byte(dotConfigHeader+"CONFIG_A=y\n# CONFIG_C is not set\nCONFIG_UNRELATED=y\n"), nil)
	if err != nil || r.Checked != 3 || len(r.Failures)+len(r.Excused) != 0 {
		t.Errorf("Verify = %+v, %v; want 3 checked, no failures", r, err)
	}
	if _, err := m.Verify([]byte("CONFIG_A=bogus\n"), nil); err == nil || !strings.Contains(err.Error(), ".config:1") {
		t.Errorf("unparsable .config: %v", err)
	}
	// Without an allowlist the message still says where excuses go.
	_, err = m.Verify([]byte("CONFIG_B=y\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "kernel-configs/allowlist/<series>.conf") {
		t.Errorf("error without allowlist: %v", err)
	}
}

func TestParseAllowlist(t *testing.T) {
	a, err := ParseAllowlist("al.conf", []byte("# c\n\nCONFIG_A arch=arm64,x86_64 variant=test: reason: with a colon\nCONFIG_A: everywhere\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != 2 || a.Entries[0].Reason != "reason: with a colon" ||
		strings.Join(a.Entries[0].Select.Arches, ",") != "aarch64,x86_64" || a.Entries[0].Pos.Line != 3 {
		t.Errorf("entries = %+v", a.Entries)
	}
	for _, tt := range []struct{ text, msg string }{
		{"CONFIG_A\n", "needs a reason"},
		{"CONFIG_A:   \n", "needs a reason"},
		{"A: r\n", "must start with a CONFIG_ symbol"},
		{"CONFIG_A exclude-arch=s390x: r\n", "only arch=a,b and variant=v,w"},
		{"CONFIG_A arch=vax: r\n", "unknown architecture"},
		{"CONFIG_A: r\nCONFIG_A: again\n", "al.conf:2: CONFIG_A with the same scope is already excused at al.conf:1"},
	} {
		if _, err := ParseAllowlist("al.conf", []byte(tt.text)); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseAllowlist(%q) = %v, want %q", tt.text, err, tt.msg)
		}
	}
}

func TestSeriesAndAllowlistLookup(t *testing.T) {
	for in, want := range map[string]string{"6.12.117": "6.12", "6.12": "6.12", "v6.13-rc2": "6.13", "10.1.0": "10.1"} {
		if got, err := Series(in); err != nil || got != want {
			t.Errorf("Series(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "6", "six.12", "6.x.1"} {
		if _, err := Series(bad); err == nil {
			t.Errorf("Series(%q) succeeded", bad)
		}
	}
	tree := mapTree(t, map[string]string{"common/a.conf": "CONFIG_A=y\n"})
	a, err := tree.Allowlist("6.18")
	if err != nil || len(a.Entries) != 0 || a.Path != "kc/allowlist/6.18.conf" {
		t.Errorf("missing series allowlist = %+v, %v; want empty with its path", a, err)
	}
	if _, err := tree.Allowlist("../x"); err == nil {
		t.Error("Allowlist accepted a path")
	}
}

func TestConfigCommands(t *testing.T) {
	got := ConfigCommands(arm64, MakeOptions{Fragment: "/w/frag.config", CrossCompile: "aarch64-linux-gnu-", ObjDir: "/out"})
	want := "make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=/out KCONFIG_ALLCONFIG=/w/frag.config allnoconfig\n" +
		"make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=/out olddefconfig"
	var lines []string
	for _, c := range got {
		lines = append(lines, strings.Join(c, " "))
	}
	if strings.Join(lines, "\n") != want {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
	native := ConfigCommands(x86, MakeOptions{Fragment: "f"})
	if strings.Join(native[0], " ") != "make ARCH=x86 KCONFIG_ALLCONFIG=f allnoconfig" {
		t.Errorf("native command: %v", native[0])
	}
}
