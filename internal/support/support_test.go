package support

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func load(t *testing.T, path string) *manifest.Toolchain {
	t.Helper()
	tc, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// fixture exercises every status, aliases, unsorted order, a pipe in a
// handle and a blank maintainer. It is built in Go rather than loaded so the
// loader's own validation (which rejects some of these) does not get in the way.
func fixture() *manifest.Toolchain {
	return &manifest.Toolchain{Path: "test.yaml", Targets: []manifest.Target{
		{Arch: "ppc64el", Variant: "default", Images: []string{"default"}, Status: "removed", DeprecatedSince: "2025-01-15", RemovalDate: "2025-07-15"},
		{Arch: "arm64", Variant: "default", Images: []string{"default", "systemd"}, Status: "supported", Maintainers: []string{"@arm"}},
		{Arch: "x86_64", Variant: "debug", Images: []string{"default"}, Status: "experimental", Maintainers: []string{"@x86", "@debug|team"}},
		{Arch: "x86_64", Variant: "default", Images: []string{"default", "systemd"}, Status: "supported", Maintainers: []string{"@x86"}},
		{Arch: "s390x", Variant: "default", Images: []string{"default"}, Status: "deprecated", Maintainers: []string{" "}, DeprecatedSince: "2026-09-15", RemovalDate: "2027-03-15"},
	}}
}

func one(targets ...manifest.Target) *manifest.Toolchain {
	return &manifest.Toolchain{Path: "test.yaml", Targets: targets}
}

func day(s string) time.Time {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

// The committed docs/support-matrix.md must be what the committed
// toolchain.yaml generates: this is the CI staleness check.
func TestCommittedMatrixUpToDate(t *testing.T) {
	tc := load(t, "../../toolchain.yaml")
	if err := Check(tc, filepath.Join("..", "..", MatrixPath)); err != nil {
		t.Fatal(err)
	}
}

func TestMarkdownGolden(t *testing.T) {
	tc := fixture()
	got, err := Markdown(tc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Markdown(tc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Fatal("two renders of the same manifest differ")
	}
	golden := "testdata/support-matrix.golden.md"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("matrix differs from %s (go test -run Golden -update to accept):\n%s", golden, got)
	}
	// Spot checks that do not depend on the golden being right.
	s := string(got)
	for _, want := range []string{
		"| x86_64 | default | default, systemd | supported | @x86 |  |  |\n| x86_64 | debug |", // default first, aliases canonical
		"| aarch64 | default |",
		`@debug\|team`, // pipes escaped
		"| s390x | default | default | **deprecated** | **none** | 2026-09-15 | 2027-03-15 |",
		"- ppc64le/default: removed on 2025-07-15.",
		"## Targets without a maintainer\n\n- s390x/default (deprecated)\n\n", // removed ppc64le not flagged
	} {
		if !strings.Contains(s, want) {
			t.Errorf("matrix lacks %q", want)
		}
	}
}

func TestCheckStale(t *testing.T) {
	tc := fixture()
	md, err := Markdown(tc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.md")
	if err := os.WriteFile(path, md, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(tc, path); err != nil {
		t.Fatalf("fresh file reported stale: %v", err)
	}
	// A maintainer change in the manifest makes the committed file stale.
	tc.Targets[1].Maintainers = []string{"@someone-else"}
	err = Check(tc, path)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("want ErrStale, got %v", err)
	}
	if !strings.Contains(err.Error(), "m.md:13 ") || !strings.Contains(err.Error(), "@someone-else") {
		t.Errorf("error should name the line and the new content: %v", err)
	}
	if err := Check(tc, filepath.Join(dir, "missing.md")); !errors.Is(err, ErrStale) {
		t.Fatalf("missing file: want ErrStale, got %v", err)
	}
}

func TestEntriesInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		tc   *manifest.Toolchain
		want string
	}{
		{"status", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "beta"}), `status "beta" is not one of supported, experimental, deprecated, removed`},
		{"arch", one(manifest.Target{Arch: "mips", Variant: "default", Status: "supported"}), `unknown architecture "mips"`},
		{"no dates", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "deprecated"}), "needs deprecated_since and removal_date"},
		{"bad date", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "deprecated", DeprecatedSince: "2026-13-01", RemovalDate: "2027-01-01"}), `deprecated_since "2026-13-01" is not a date`},
		{"order", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "deprecated", DeprecatedSince: "2027-01-01", RemovalDate: "2026-01-01"}), "is not after deprecated_since"},
		{"dates on supported", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "supported", RemovalDate: "2027-01-01"}), "set status: deprecated or drop the dates"},
		{"empty variant", one(manifest.Target{Arch: "x86_64", Status: "supported"}), "variant is empty"},
		{"duplicate", one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "supported"}, manifest.Target{Arch: "amd64", Variant: "default", Status: "supported"}), "x86_64/default is listed twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Entries(tt.tc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
			if !strings.Contains(err.Error(), "test.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestEntriesNameLine(t *testing.T) {
	tc := one(manifest.Target{Arch: "x86_64", Variant: "default", Status: "beta", Line: 7})
	_, err := Entries(tc)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid targets in the manifest (fix them in toolchain.yaml):\n  test.yaml:7: ") {
		t.Fatalf("want file:line, got %v", err)
	}
}

func TestGate(t *testing.T) {
	tc := fixture()
	for _, tt := range []struct {
		name, arch, variant, asOf string
		wantErr                   error
		wantWarn                  []string
	}{
		{"supported", "amd64", "default", "2026-10-01", nil, nil},
		{"experimental", "x86_64", "debug", "2026-10-01", nil, nil},
		{"deprecated warns with date", "s390x", "default", "2027-03-05", nil,
			[]string{"s390x/default is deprecated since 2026-09-15 and will be removed on 2027-03-15 (in 10 days)", "s390x/default has no maintainer"}},
		{"deprecated last day", "s390x", "default", "2027-03-14", nil, []string{"(in 1 days)"}},
		{"deprecated on removal date refuses", "s390x", "default", "2027-03-15", ErrRemoved, nil},
		{"removed refuses", "ppc64le", "default", "2020-01-01", ErrRemoved, nil},
		{"unknown variant", "x86_64", "confidential", "2026-10-01", ErrUnknownTarget, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Gate(tc, tt.arch, tt.variant, day(tt.asOf))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(d.Warnings) < len(tt.wantWarn) || (tt.wantWarn == nil && len(d.Warnings) != 0) {
				t.Fatalf("warnings = %q, want %q", d.Warnings, tt.wantWarn)
			}
			for i, w := range tt.wantWarn {
				if !strings.Contains(d.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, d.Warnings[i], w)
				}
			}
		})
	}
	_, err := Gate(tc, "ppc64le", "default", day("2020-01-01"))
	if !strings.Contains(err.Error(), "ppc64le/default was removed on 2025-07-15") {
		t.Errorf("removed error should name target and date: %v", err)
	}
	_, err = Gate(tc, "s390x", "default", day("2027-04-01"))
	if !strings.Contains(err.Error(), "reached its removal date 2027-03-15") {
		t.Errorf("past-removal error should name the date: %v", err)
	}
}

func TestUnmaintained(t *testing.T) {
	got, err := Unmaintained(fixture())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name() != "s390x/default" {
		t.Fatalf("unmaintained = %v, want only s390x/default (blank handle counts as none, removed ppc64le skipped)", got)
	}
	// A real manifest (a pinned copy of the repository's): ppc64le is deprecated and has nobody.
	got, err = Unmaintained(load(t, "testdata/toolchain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "ppc64le/default" {
		t.Errorf("unmaintained in toolchain.yaml = %v", names)
	}
}
