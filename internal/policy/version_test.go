package policy

import "testing"

func TestToolchainVersionMath(t *testing.T) {
	cases := []struct {
		a, b string
		want int // sign of Compare(a, b)
	}{
		{"1.100.0", "1.99.0", 1},    // numeric, not lexical
		{"1.100", "1.99.9", 1},      // minor decides before patch
		{"go1.26.0", "1.26.0", 0},   // Go's prefix
		{"go1.26", "1.26.0", 0},     // Go before 1.21 had no .0
		{"go1.27rc1", "1.27.0", -1}, // rc before the release
		{"go1.27rc1", "go1.26.8", 1},
		{"go1.27beta1", "go1.27rc1", -1},
		{"v6.12.47", "6.12.47", 0},
		{"6.12", "6.12.0", 0},
		{"7.4-rc3", "7.4", -1},
		{"6.12.119", "6.12.117", 1},
	}
	for _, c := range cases {
		a, err := ParseToolchainVersion(c.a)
		if err != nil {
			t.Fatalf("parse %q: %v", c.a, err)
		}
		b, err := ParseToolchainVersion(c.b)
		if err != nil {
			t.Fatalf("parse %q: %v", c.b, err)
		}
		if got := a.Compare(b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestToolchainPrerelease(t *testing.T) {
	for s, pre := range map[string]bool{"go1.27rc1": true, "go1.27beta2": true, "7.4-rc5": true, "go1.27.3": false, "1.100.0": false, "6.12": false} {
		v, err := ParseToolchainVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := toolchainLine.pre(v); got != pre {
			t.Errorf("%s pre-release = %v, want %v", s, got, pre)
		}
	}
	for _, bad := range []string{"", "go", "next-20261120", "1.2.x", "latest"} {
		if _, err := ParseToolchainVersion(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestModuleVersionMath(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"v1.100.0", "v1.99.0", 1},
		{"v6.12.47", "v6.12.46", 1},
		{"v1.10.0-rc.1", "v1.10.0", -1},
		{"v2.0.0+incompatible", "v2.0.0", 0},
		{"v0.0.0-20251022142026-3a174f9686a8", "v0.0.1", -1},
	}
	for _, c := range cases {
		a, err := ParseModuleVersion(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseModuleVersion(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if v, err := ParseModuleVersion("v6.12.47"); err != nil || v.Major() != 6 || v.Minor() != 12 || v.Patch() != 47 {
		t.Errorf("v6.12.47 = %v, %v", v, err)
	}
	if _, err := ParseModuleVersion("1.2.3"); err == nil {
		t.Error("a module version without v parsed")
	}
}

func TestIsPseudoVersion(t *testing.T) {
	for s, want := range map[string]bool{
		"v0.0.0-20251022142026-3a174f9686a8":       true,
		"v1.1.2-0.20250828195352-b9e47831ad9f":     true,
		"v1.2.4-pre.0.20250828195352-b9e47831ad9f": true,
		"v1.2.0-rc.1": false,
		"v1.2.0":      false,
	} {
		v, err := ParseModuleVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsPseudoVersion(v); got != want {
			t.Errorf("IsPseudoVersion(%s) = %v, want %v", s, got, want)
		}
	}
}
