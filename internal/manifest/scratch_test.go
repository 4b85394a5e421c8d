package manifest

import "testing"

func TestScratch(t *testing.T) {
	m, err := Load("../../toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", m.Toolchains)
	_, err = Parse("toolchain.yaml", []byte(`epoch: -1
release: {day: 31, registri: x}
policy:
  lag: -1
  exceptions:
    - {name: rustc, allow: 1.95, until: 2027-02-30, reason: ""}
toolchains:
  go: {version: 1.26, feed: go}
  rust: {version: "1.95", feed: rusty, extra: 1}
kernel: {version: "6.12.117", url: "ftp://x", sha256: "abc", feed: kernel}
distro: {name: ubuntu, suite: bookworm}
architectures: [x86_64, amd64, mips]
targets:
  - {arch: x86_64, variant: default, images: [default], status: supported, maintainers: []}
  - {arch: amd64, variant: default, images: [default], status: deprecated, maintainers: []}
  - {arch: s390x, variant: default, images: [], status: gone, maintainers: [bob]}
verison: 1
`))
	t.Logf("\n%v", err)
	_, err = Parse("toolchain.yaml", []byte("epoch: 1\n  bad: [\n"))
	t.Logf("\n%v", err)
}
