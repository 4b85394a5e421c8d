package manifest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// base is a complete, valid manifest; cases edit one line of it so the
// expected positions below stay readable.
const base = `epoch: 1767225600
release: {day: 15, registry: ghcr.io/guestforge/guest-images}
policy:
  lag: 2
  exceptions:
    - {name: rust, allow: "1.95.0", until: "2027-01-31", reason: "msrv"}
toolchains:
  go:   {version: "1.26.8", feed: go}
  rust: {version: "1.95.0", feed: rust}
kernel: {version: "6.12.117", url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.117.tar.xz", sha256: "e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703", feed: kernel}
distro: {name: debian, suite: bookworm, mirror: "http://deb.debian.org/debian"}
builders:
  kernel: {packages: [gcc, make]}
architectures: [x86_64, arm64, s390x, ppc64le]
targets:
  - {arch: x86_64, variant: default, images: [default], status: supported, maintainers: ["@guestforge/x86"]}
  - {arch: aarch64, variant: default, images: [default], status: experimental, maintainers: ["@guestforge/arm"]}
  - {arch: ppc64el, variant: default, images: [default], status: deprecated, maintainers: [], deprecated_since: "2026-09-15", removal_date: "2027-03-15"}
`

// edit replaces the first occurrence of old in base.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(base, old) {
		t.Fatalf("test bug: %q not in base", old)
	}
	return strings.Replace(base, old, new, 1)
}

func TestParseBase(t *testing.T) {
	m, err := Parse("toolchain.yaml", []byte(base))
	if err != nil {
		t.Fatalf("base manifest: %v", err)
	}
	if got, want := m.Architectures, []string{"x86_64", "aarch64", "s390x", "ppc64le"}; !slices.Equal(got, want) {
		t.Errorf("architectures = %v, want canonical %v (arm64 is an alias)", got, want)
	}
	if m.Targets[2].Arch != "ppc64le" {
		t.Errorf("target alias ppc64el not canonicalised: %q", m.Targets[2].Arch)
	}
	rust := m.Toolchains["rust"]
	if rust.Name != "rust" || rust.Version != "1.95.0" || rust.Line != 9 || rust.Column != 19 {
		t.Errorf("rust pin = %+v, want name rust, 1.95.0 at 9:19", rust)
	}
	if m.Kernel.Line != 10 || m.Kernel.Series() != "6.12" {
		t.Errorf("kernel = line %d series %s, want 10, 6.12", m.Kernel.Line, m.Kernel.Series())
	}
	exc, ok := m.Policy.Exception("rust")
	if !ok || exc.Line != 6 || exc.Index != 0 || exc.Until != "2027-01-31" {
		t.Errorf("exception = %+v, %v", exc, ok)
	}
	if m.Targets[1].Line != 17 || m.Epoch != 1767225600 || m.Policy.Lag != 2 || m.Release.Day != 15 {
		t.Errorf("parsed %+v", m)
	}
	if string(m.Source) != base {
		t.Error("Source does not hold the loaded text")
	}
}

func TestLoadCommittedManifest(t *testing.T) {
	m, err := Load("../../toolchain.yaml")
	if err != nil {
		t.Fatalf("the committed toolchain.yaml must load:\n%v", err)
	}
	for _, tg := range m.Targets {
		if !slices.Contains(m.Architectures, tg.Arch) {
			t.Errorf("target %s/%s arch not in architectures", tg.Arch, tg.Variant)
		}
	}
	for name, p := range m.Toolchains {
		if p.Line == 0 || p.Name != name {
			t.Errorf("pin %s: %+v lacks its name or line", name, p)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // every line of the error, in order
	}{
		{"unknown key with suggestion", edit(t, "epoch: 1767225600", "epoch: 1767225600\nepcoh: 1"),
			[]string{`toolchain.yaml:2:1: manifest: unknown key "epcoh": did you mean "epoch"?`}},
		{"unknown nested key lists allowed", edit(t, `feed: rust}`, `feed: rust, mirror: x}`),
			[]string{`toolchain.yaml:9:41: toolchains.rust: unknown key "mirror": allowed keys are version, feed`}},
		{"version as a YAML number", edit(t, `{version: "1.26.8", feed: go}`, `{version: 1.26, feed: go}`),
			[]string{`toolchain.yaml:8:19: toolchains.go.version must be a string, not the number 1.26: quote it (version: "1.26")`}},
		{"bad version", edit(t, `"1.26.8"`, `"go1.26.8"`),
			[]string{`toolchain.yaml:8:19: toolchains.go.version: "go1.26.8" is not a release version: write MAJOR.MINOR.PATCH without prefix, e.g. "1.26.8"`}},
		{"unknown arch", edit(t, "[x86_64, arm64, s390x, ppc64le]", "[x86_64, arm64, s390x, ppc64le, mips]"),
			[]string{`toolchain.yaml:14:48: architectures: unknown architecture "mips": use one of x86_64, aarch64, s390x, ppc64le (aliases: amd64, arm64, powerpc64le, ppc64el, s390, x64, x86-64)`}},
		{"alias listed twice", edit(t, "[x86_64, arm64,", "[x86_64, amd64, arm64,"),
			[]string{`toolchain.yaml:14:25: architectures: "amd64" is x86_64, already listed at line 14: remove one`}},
		{"duplicate target through an alias", edit(t, "{arch: aarch64, variant: default", "{arch: arm64, variant: default, images: [default], status: supported, maintainers: [\"@a\"]}\n  - {arch: aarch64, variant: default"),
			[]string{`toolchain.yaml:18:5: targets[2]: duplicate target aarch64 variant default (first at line 17): merge the two entries`}},
		{"target arch not in architectures", edit(t, "[x86_64, arm64, s390x, ppc64le]", "[x86_64, arm64, s390x]"),
			[]string{`toolchain.yaml:18:12: target arch ppc64le is not listed in architectures: add it there or remove the target`}},
		{"bad date", edit(t, `until: "2027-01-31"`, `until: "2027-02-30"`),
			[]string{`toolchain.yaml:6:44: policy.exceptions[0].until: "2027-02-30" is not a date: write YYYY-MM-DD, e.g. "2027-01-31"`}},
		{"bad status", edit(t, "status: experimental", "status: experimentl"),
			[]string{`toolchain.yaml:17:66: targets[1].status: unknown status "experimentl": did you mean "experimental"?`}},
		{"deprecated without dates", edit(t, `, deprecated_since: "2026-09-15", removal_date: "2027-03-15"}`, "}"),
			[]string{`toolchain.yaml:18:66: targets[2]: a deprecated target needs deprecated_since and removal_date (YYYY-MM-DD): add both so users know when it goes`}},
		{"removal before deprecation", edit(t, `removal_date: "2027-03-15"`, `removal_date: "2026-01-01"`),
			[]string{`toolchain.yaml:18:66: targets[2]: removal_date 2026-01-01 is not after deprecated_since 2026-09-15: give users time between the two`}},
		{"exception for an unknown toolchain", edit(t, "{name: rust,", "{name: rustc,"),
			[]string{`toolchain.yaml:6:14: policy.exceptions: "rustc" is not a toolchain: name one of distro, go, kernel, rust or a module path from go.mod: did you mean "rust"?`}},
		{"distro checked against another feed", edit(t, `mirror: "http://deb.debian.org/debian"}`, `mirror: "http://deb.debian.org/debian", feed: ubuntu}`),
			[]string{`toolchain.yaml:11:87: distro.feed: unknown feed "ubuntu": the suite is checked against the Debian releases on the mirror, write feed: debian`}},
		{"distro exception allow is not a codename", edit(t, `{name: rust, allow: "1.95.0"`, `{name: distro, allow: "Bookworm 12"`),
			[]string{`toolchain.yaml:6:29: policy.exceptions: allow for distro: "Bookworm 12" is not a Debian suite: write a codename such as bookworm`}},
		{"exception allow in the wrong format", edit(t, `allow: "1.95.0"`, `allow: "1.95"`),
			[]string{`toolchain.yaml:6:27: policy.exceptions: allow for rust: "1.95" is not a release version: write MAJOR.MINOR.PATCH without prefix, e.g. "1.26.8"`}},
		{"sha256 not 64 hex", edit(t, `sha256: "e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703"`, `sha256: "e849"`),
			[]string{`toolchain.yaml:10:114: kernel.sha256: "e849" is not a sha256 digest: write 64 lowercase hex digits (sha256sum prints them)`}},
		{"kernel url names another version", edit(t, `linux-6.12.117.tar.xz`, `linux-6.12.116.tar.xz`),
			[]string{`toolchain.yaml:10:36: kernel.url does not mention version 6.12.117: update url and sha256 together with kernel.version`}},
		{"epoch not positive", edit(t, "epoch: 1767225600", "epoch: 0"),
			[]string{`toolchain.yaml:1:8: epoch 0 is out of range: write seconds since 1970, from 1 to 253402300799 (9999-12-31), e.g. 1767225600 for 2026-01-01`}},
		{"negative lag", edit(t, "lag: 2", "lag: -1"),
			[]string{`toolchain.yaml:4:8: policy.lag -1 is out of range: write how many minor releases a pin may trail the latest, from 0 to 100 (0 = latest only; 2 = N-2)`}},
		{"lag as a string", edit(t, "lag: 2", `lag: "2"`),
			[]string{`toolchain.yaml:4:8: policy.lag must be an integer, not "2"`}},
		{"duplicate key", edit(t, "epoch: 1767225600", "epoch: 1767225600\nepoch: 1"),
			[]string{`toolchain.yaml:2:1: manifest: key "epoch" appears twice (first at line 1): remove one`}},
		{"missing required key", edit(t, "  lag: 2\n", ""),
			[]string{`toolchain.yaml:4:3: policy: missing key "lag": add it, e.g. lag: 2`}},
		{"alias refused", edit(t, "builders:\n  kernel: {packages: [gcc, make]}", "builders:\n  kernel: {packages: &p [gcc, make]}\n  rootfs: {packages: *p}"),
			[]string{`toolchain.yaml:14:22: builders.rootfs.packages: YAML aliases (*p) are not supported: write the value out where it is used`}},
		{"empty list written as null", edit(t, "    - {name: rust, allow: \"1.95.0\", until: \"2027-01-31\", reason: \"msrv\"}\n", ""),
			[]string{`toolchain.yaml:5:14: policy.exceptions must be a list, not empty (null): write [] for an empty list`}},
		{"second document", base + "---\nepoch: 1\n",
			[]string{`toolchain.yaml:19:1: a second YAML document starts here: the file holds exactly one; remove the extra '---' and what follows or merge it into the first`}},
		{"syntax error names its line", edit(t, "policy:\n  lag: 2", "policy:\n  lag: 2\n bad"),
			[]string{`toolchain.yaml:6: invalid YAML: mapping values are not allowed in this context (check indentation, quotes and colons on this line and the one before)`}},
		{"go checked against the rust feed", edit(t, `{version: "1.26.8", feed: go}`, `{version: "1.26.8", feed: rust}`),
			[]string{`toolchain.yaml:8:35: toolchains.go.feed: go is checked against the go feed, not rust: write feed: go`}},
		{"integer beyond 64 bits says the range", edit(t, "lag: 2", "lag: 99999999999999999999"),
			[]string{`toolchain.yaml:4:8: policy.lag: "99999999999999999999" is out of range: an integer here is from -9223372036854775808 to 9223372036854775807`}},
		{"control character gets its line", edit(t, "lag: 2", "lag: 2\n  x: \x01"),
			[]string{`toolchain.yaml:5: invalid YAML: control characters are not allowed (check indentation, quotes and colons on this line and the one before)`}},
		{"invalid UTF-8 gets its line", edit(t, "lag: 2", "lag: 2\n  \xff: 1"),
			[]string{`toolchain.yaml:5: invalid YAML: invalid leading UTF-8 octet (check indentation, quotes and colons on this line and the one before)`}},
		{"unknown escape gets its line", edit(t, "lag: 2", `lag: 2`+"\n"+`  x: "\q"`),
			[]string{`toolchain.yaml:5: invalid YAML: found unknown escape character (check indentation, quotes and colons on this line and the one before)`}},
		{"empty file", "", []string{`toolchain.yaml: file is empty: write the manifest (see toolchain.yaml in the repository root for the layout)`}},
		{"top level is a list", "- a\n", []string{`toolchain.yaml:1:1: manifest must be a mapping (key: value), not a list`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse("toolchain.yaml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			if m != nil {
				t.Error("a manifest came back with the error")
			}
			got := strings.Split(err.Error(), "\n")
			if tc.name == "top level is a list" {
				got = got[:1] // the missing keys follow; covered elsewhere
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// The distro suite is a pin like the others: feed: debian gates it, and an
// exception named distro keeps an older suite.
func TestParseDistroPin(t *testing.T) {
	src := edit(t, `mirror: "http://deb.debian.org/debian"}`, `mirror: "http://deb.debian.org/debian", feed: debian}`)
	src = strings.Replace(src, `{name: rust, allow: "1.95.0", until: "2027-01-31", reason: "msrv"}`,
		`{name: rust, allow: "1.95.0", until: "2027-01-31", reason: "msrv"}`+"\n"+`    - {name: distro, allow: bullseye, until: "2027-01-31", reason: "lock first"}`, 1)
	m, err := Parse("toolchain.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Distro; d.Feed != FeedDebian || d.Suite != "bookworm" || d.Line != 12 {
		t.Errorf("distro = %+v, want feed debian, suite bookworm on line 12", d)
	}
	if exc, ok := m.Policy.Exception(DistroName); !ok || exc.Allow != "bullseye" || exc.Line != 7 {
		t.Errorf("distro exception = %+v, %v", exc, ok)
	}
	plain, err := Parse("toolchain.yaml", []byte(base))
	if err != nil || plain.Distro.Feed != "" {
		t.Errorf("without feed: the suite is not gated: %+v %v", plain.Distro, err)
	}
}

func TestParseReportsEveryProblemSorted(t *testing.T) {
	src := edit(t, "epoch: 1767225600", "epoch: -5")
	src = strings.Replace(src, "lag: 2", "lag: -1", 1)
	src = strings.Replace(src, `"1.26.8"`, `"1.26"`, 1)
	src = strings.Replace(src, "status: experimental", "status: gone", 1)
	src = strings.Replace(src, "[x86_64, arm64,", "[x86_64, sparc, arm64,", 1)
	_, err := Parse("toolchain.yaml", []byte(src))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not Errors", err)
	}
	if len(errs) != 5 {
		t.Fatalf("got %d problems, want 5:\n%v", len(errs), err)
	}
	wantLines := []int{1, 4, 8, 14, 17}
	for i, e := range errs {
		if e.Line != wantLines[i] || e.File != "toolchain.yaml" || e.Column == 0 {
			t.Errorf("problem %d at %s:%d:%d, want line %d", i, e.File, e.Line, e.Column, wantLines[i])
		}
	}
	var one *Error
	if !errors.As(err, &one) || one.Line != 1 {
		t.Errorf("errors.As(*Error) should reach the first problem, got %v", one)
	}
}

func TestIsModulePath(t *testing.T) {
	for s, want := range map[string]bool{
		"github.com/sigstore/sigstore-go": true,
		"dagger.io/dagger":                true,
		"gopkg.in/yaml.v3":                true,
		"rust":                            false,
		"kernel":                          false,
		"github.com/UPPER case":           false,
	} {
		if got := IsModulePath(s); got != want {
			t.Errorf("IsModulePath(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseSizeAndOwner(t *testing.T) {
	sizes := map[string]int64{"64MiB": 64 << 20, "1GiB": 1 << 30, "512KiB": 512 << 10, "4096": 4096, "10B": 10}
	for s, want := range sizes {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"64MB", "1.5GiB", "-1MiB", "0", "GiB", "", "99999999999999TiB"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, n)
		}
	}
	if u, g, err := ParseOwner("1000:100"); err != nil || u != 1000 || g != 100 {
		t.Errorf("ParseOwner = %d:%d %v", u, g, err)
	}
	for _, bad := range []string{"1000", "root:root", "1:-1", ":", "1:2:3"} {
		if _, _, err := ParseOwner(bad); err == nil {
			t.Errorf("ParseOwner(%q) succeeded", bad)
		}
	}
}
