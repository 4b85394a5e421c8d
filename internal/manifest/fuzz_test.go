package manifest

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

// FuzzParse feeds arbitrary bytes to the loader. It must never panic, and
// its two outcomes must be coherent: a manifest that satisfies the
// invariants callers rely on, or nil plus one positioned Error per problem.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	if committed, err := os.ReadFile("../../toolchain.yaml"); err == nil {
		f.Add(committed)
	}
	for _, s := range []string{
		"", "---", "- a", "epoch: !!binary aGVsbG8=", "a: &x [*x]", "{", "epoch: 1\n---\nepoch: 2",
		"toolchains: {go: {version: 1.26, feed: go}}", "targets: [{arch: amd64}]",
		"policy: {lag: 99999999999999999999}", "<<: {epoch: 1}", "? [a]\n: b",
		"\xef\xbb\xbfepoch: 1", "epoch: 1\t# tab", "kernel: {version: \"6.12\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.yaml", data)
		if err != nil {
			if m != nil {
				t.Fatal("manifest returned together with an error")
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
			}
			// YAML breaks lines at \n, \r and the Unicode line separators.
			lines := 1
			for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
				lines += strings.Count(string(data), sep)
			}
			for i, e := range errs {
				if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Line > lines+1 {
					t.Fatalf("bad problem %d: %#v (input has %d lines)", i, e, lines)
				}
				if i > 0 && (errs[i-1].Line > e.Line || (errs[i-1].Line == e.Line && errs[i-1].Column > e.Column)) {
					t.Fatalf("problems not sorted by position: %v", err)
				}
			}
			return
		}
		if m.Epoch <= 0 || m.Policy.Lag < 0 || len(m.Architectures) == 0 || len(m.Targets) == 0 {
			t.Fatalf("accepted manifest breaks invariants: %+v", m)
		}
		for _, a := range m.Architectures {
			if c, err := arch.Parse(a); err != nil || c.Name != a {
				t.Fatalf("architecture %q is not canonical", a)
			}
		}
		seen := map[string]bool{}
		for _, tg := range m.Targets {
			if !slices.Contains(m.Architectures, tg.Arch) || seen[tg.Arch+"/"+tg.Variant] {
				t.Fatalf("target %+v is unknown or duplicate", tg)
			}
			seen[tg.Arch+"/"+tg.Variant] = true
		}
		for name, p := range m.Toolchains {
			if checkRelease(p.Version) != nil || p.Line <= 0 || p.Name != name {
				t.Fatalf("pin %s accepted with %+v", name, p)
			}
		}
		if checkSHA256(m.Kernel.SHA256) != nil || checkKernelVersion(m.Kernel.Version) != nil {
			t.Fatalf("kernel accepted with %+v", m.Kernel)
		}
	})
}
