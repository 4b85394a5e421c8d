package manifest

import (
	"strings"
	"testing"
)

// commented is a manifest written the way people write them: comments,
// block and flow styles, quoted and plain scalars, non-ASCII text before
// the edited values (columns count characters, offsets count bytes).
const commented = `# guestforge toolchain manifest — the one pinned input.
epoch: 1767225600   # 2026-01-01

policy:
  lag: 2            # N-2
  exceptions:       # each: name, allow, until, reason
    # rust waits for the MSRV bump
    - name: rust
      allow: "1.95.0"
      until: "2027-01-31"
      reason: "agent MSRV is 1.95 — bump after January"

    - name: go
      allow: '1.25.0'
      until: 2027-01-31
      reason: >-
        folded reason
        on two lines
toolchains:
  go:   {version: '1.25.3', feed: go}     # Go
  rust: {version: "1.95.0", feed: rust}   # Rust ✓
kernel:
  version: 6.12.117
  url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.117.tar.xz"
  sha256: "e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703"
  feed: kernel
distro: {name: debian, suite: bookworm, mirror: "http://deb.debian.org/debian"}
architectures: [x86_64]
targets:
  - {arch: x86_64, variant: default, images: [default], status: supported, maintainers: ["@g/x86"]}
`

func mustParse(t *testing.T, src string) *Toolchain {
	t.Helper()
	m, err := Parse("toolchain.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse:\n%v", err)
	}
	return m
}

func TestRewriteEditsOnlyTheScalars(t *testing.T) {
	mustParse(t, commented)
	rw := Rewrite{Edits: []ScalarEdit{
		{Path: []string{"toolchains", "rust", "version"}, Old: "1.95.0", New: "1.100.0"},
		{Path: []string{"toolchains", "go", "version"}, Old: "1.25.3", New: "1.27.3"},
	}}
	out, err := rw.Apply("toolchain.yaml", []byte(commented))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(`{version: "1.95.0", feed: rust}`, `{version: "1.100.0", feed: rust}`,
		`{version: '1.25.3', feed: go}`, `{version: '1.27.3', feed: go}`).Replace(commented)
	if string(out) != want {
		t.Errorf("rewritten manifest differs beyond the two values:\n%s", out)
	}
	m := mustParse(t, string(out))
	if m.Toolchains["rust"].Version != "1.100.0" || m.Toolchains["go"].Version != "1.27.3" {
		t.Errorf("re-parsed pins: %+v", m.Toolchains)
	}
}

func TestRewriteDropsExceptions(t *testing.T) {
	t.Run("first of two, with its head comment", func(t *testing.T) {
		out, err := Rewrite{DropExceptions: []int{0}}.Apply("toolchain.yaml", []byte(commented))
		if err != nil {
			t.Fatal(err)
		}
		removed := "    # rust waits for the MSRV bump\n    - name: rust\n      allow: \"1.95.0\"\n      until: \"2027-01-31\"\n      reason: \"agent MSRV is 1.95 — bump after January\"\n"
		if want := strings.Replace(commented, removed, "", 1); string(out) != want {
			t.Errorf("got:\n%s\nwant:\n%s", out, want)
		}
		m := mustParse(t, string(out))
		if len(m.Policy.Exceptions) != 1 || m.Policy.Exceptions[0].Name != "go" {
			t.Errorf("exceptions left: %+v", m.Policy.Exceptions)
		}
	})
	t.Run("last one, with a folded scalar", func(t *testing.T) {
		out, err := Rewrite{DropExceptions: []int{1}}.Apply("toolchain.yaml", []byte(commented))
		if err != nil {
			t.Fatal(err)
		}
		m := mustParse(t, string(out))
		if len(m.Policy.Exceptions) != 1 || m.Policy.Exceptions[0].Name != "rust" {
			t.Errorf("exceptions left: %+v", m.Policy.Exceptions)
		}
		if strings.Contains(string(out), "folded reason") || !strings.Contains(string(out), "toolchains:\n  go:") {
			t.Errorf("the go exception was not removed cleanly:\n%s", out)
		}
	})
	t.Run("all of them leave []", func(t *testing.T) {
		out, err := Rewrite{DropExceptions: []int{1, 0}}.Apply("toolchain.yaml", []byte(commented))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "  lag: 2            # N-2\n  exceptions: []       # each: name, allow, until, reason\n\ntoolchains:\n") {
			t.Errorf("exceptions key not turned into []:\n%s", out)
		}
		m := mustParse(t, string(out))
		if len(m.Policy.Exceptions) != 0 {
			t.Errorf("exceptions left: %+v", m.Policy.Exceptions)
		}
		for _, keep := range []string{"# guestforge toolchain manifest — the one pinned input.", "# N-2", "# Rust ✓", "# 2026-01-01"} {
			if !strings.Contains(string(out), keep) {
				t.Errorf("comment %q lost", keep)
			}
		}
	})
}

func TestRewriteRefuses(t *testing.T) {
	cases := []struct {
		name string
		src  string
		rw   Rewrite
		want string
	}{
		{"stale old value", commented, Rewrite{Edits: []ScalarEdit{{Path: []string{"toolchains", "rust", "version"}, Old: "1.94.0", New: "1.100.0"}}},
			`toolchains.rust.version is "1.95.0", not "1.94.0": the file changed since it was checked; run bump again`},
		{"unsafe new value", commented, Rewrite{Edits: []ScalarEdit{{Path: []string{"toolchains", "rust", "version"}, Old: "1.95.0", New: "1.0\n#"}}},
			`refusing to write "1.0\n#"`},
		{"no such key", commented, Rewrite{Edits: []ScalarEdit{{Path: []string{"toolchains", "zig", "version"}, Old: "1", New: "2"}}},
			`toolchains.zig.version: no such value in the manifest`},
		{"flow exceptions", strings.Replace(base, "  exceptions:\n    - {name: rust, allow: \"1.95.0\", until: \"2027-01-31\", reason: \"msrv\"}",
			"  exceptions: [{name: rust, allow: \"1.95.0\", until: \"2027-01-31\", reason: \"msrv\"}]", 1), Rewrite{DropExceptions: []int{0}},
			`line 5: policy.exceptions is a [flow] list`},
		{"result must validate", commented, Rewrite{Edits: []ScalarEdit{{Path: []string{"kernel", "version"}, Old: "6.12.117", New: "6.12.119"}}},
			`kernel.url does not mention version 6.12.119`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.rw.Apply("toolchain.yaml", []byte(tc.src))
			if err == nil || out != nil {
				t.Fatalf("rewrite succeeded:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
