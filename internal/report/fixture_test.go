package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/repro"
)

// fixtureVersion is the release the fixture tree holds.
const fixtureVersion = "v2026.2.0"

// writeBytes writes n deterministic bytes (seeded by name) under dir.
func writeBytes(t *testing.T, dir, rel string, n int) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte(rel+"\n"), n/(len(rel)+1)+1)[:n]
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeDist lays out a release the way docs/architecture.md describes it: two arches,
// kernels, initrds, a rootfs with verity, and the release stage's files, plus
// a log directory beside the tree.
func writeDist(t *testing.T, dir string) {
	t.Helper()
	v := fixtureVersion + "/"
	files := map[string]int{
		"x86_64/vmlinuz-6.12.117-3f2a9c1d":               9_400_000,
		"x86_64/vmlinux-6.12.117-3f2a9c1d":               48_000_000,
		"x86_64/config-6.12.117-3f2a9c1d":                210_000,
		"x86_64/System.map-6.12.117-3f2a9c1d":            5_100_000,
		"x86_64/initrd-default.img":                      14_000_000,
		"x86_64/initrd-systemd.img":                      39_000_000,
		"x86_64/rootfs-systemd.img":                      96_000_000,
		"x86_64/rootfs-systemd.img.verity":               800_000,
		"x86_64/root_hash.txt":                           65,
		"x86_64/sbom-default.spdx.json":                  40_000,
		"aarch64/vmlinuz-6.12.117-77aa0b12":              8_800_000,
		"aarch64/vmlinux-6.12.117-77aa0b12":              41_000_000,
		"aarch64/config-6.12.117-77aa0b12":               205_000,
		"SHA256SUMS":                                     1_200,
		"provenance.intoto.jsonl":                        6_000,
		"x86_64/vmlinuz-6.12.117-3f2a9c1d.sigstore.json": 3_300,
	}
	for rel, n := range files {
		// Small stand-ins keep the test fast; sizes are scaled down by 1000
		// but keep their ratios, so charts still look like a real release.
		writeBytes(t, dir, v+rel, max(n/1000, 1))
	}
	writeBytes(t, dir, "logs/kernel-x86_64-default.log", 500)
	writeBytes(t, dir, "logs/initrd-aarch64-default.log", 300)
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// fixtureRecord is what the pipelines would have written for writeDist.
func fixtureRecord() *Record {
	v := fixtureVersion + "/"
	return &Record{
		Version: fixtureVersion, Commit: "0123456789abcdef0123456789abcdef01234567", Finished: "2026-02-15T06:12:44Z",
		Steps: []RecordStep{
			{ID: "kernel/x86_64/default", Kind: "kernel", Arch: "x86_64", Variant: "default", Status: "ok", DurationMS: 1_520_000, CacheHit: no(),
				Log:     "logs/kernel-x86_64-default.log",
				Outputs: []string{v + "x86_64/vmlinuz-6.12.117-3f2a9c1d", v + "x86_64/vmlinux-6.12.117-3f2a9c1d", v + "x86_64/config-6.12.117-3f2a9c1d", v + "x86_64/System.map-6.12.117-3f2a9c1d"}},
			{ID: "kernel/arm64/default", Kind: "kernel", Arch: "arm64", Variant: "default", Status: "ok", DurationMS: 2_900_000, CacheHit: no(),
				Outputs: []string{v + "aarch64/vmlinuz-6.12.117-77aa0b12", v + "aarch64/vmlinux-6.12.117-77aa0b12", v + "aarch64/config-6.12.117-77aa0b12", v + "aarch64/System.map-6.12.117-77aa0b12"}},
			{ID: "initrd/x86_64/default", Kind: "initrd", Arch: "x86_64", Image: "default", Status: "ok", DurationMS: 4_100, CacheHit: yes(),
				Outputs: []string{v + "x86_64/initrd-default.img"}},
			{ID: "initrd/x86_64/systemd", Kind: "initrd", Arch: "x86_64", Image: "systemd", Status: "ok", DurationMS: 61_000, CacheHit: no(),
				Outputs: []string{v + "x86_64/initrd-systemd.img"}},
			{ID: "rootfs/x86_64/systemd", Kind: "rootfs", Arch: "x86_64", Image: "systemd", Status: "ok", DurationMS: 240_000,
				Outputs: []string{v + "x86_64/rootfs-systemd.img", v + "x86_64/rootfs-systemd.img.verity", v + "x86_64/root_hash.txt"}},
			{ID: "initrd/aarch64/default", Kind: "initrd", Arch: "aarch64", Image: "default", Status: "failed", DurationMS: 95_000, CacheHit: no(),
				Log: "logs/initrd-aarch64-default.log", Error: "mmdebstrap: qemu-aarch64 binfmt handler missing"},
		},
	}
}

// fixtureRepro is the gate's verdict on two builds of writeDist's tree: paths
// relative to the compared trees (no version directory), the kernel identical
// with the bytes writeDist wrote, the initrd differing in one member, and a
// file the dist tree does not have.
func fixtureRepro(t *testing.T) *repro.Report {
	t.Helper()
	kernel := sha256Of(t, writeOne(t, fixtureVersion+"/x86_64/vmlinuz-6.12.117-3f2a9c1d", 9_400))
	return &repro.Report{DirA: "/repro/a", DirB: "/repro/b", First: "x86_64/initrd-default.img", Artifacts: []repro.Artifact{
		{Path: "x86_64/initrd-default.img", Kind: repro.KindCpio, Compression: "zstd", SHA256A: strings.Repeat("a", 64), SHA256B: strings.Repeat("b", 64),
			SizeA: 14_000, SizeB: 14_000, Members: []repro.MemberDiff{{Member: "etc/machine-id", Change: "differs", Cause: true}}, MembersDiffering: 1},
		{Path: "x86_64/not-there.img", Kind: repro.KindBinary, SHA256A: strings.Repeat("c", 64), SHA256B: strings.Repeat("c", 64), SizeA: 1, SizeB: 1, Identical: true},
		{Path: "x86_64/vmlinuz-6.12.117-3f2a9c1d", Kind: repro.KindBinary, SHA256A: kernel, SHA256B: kernel, SizeA: 9_400, SizeB: 9_400, Identical: true},
	}}
}

func fixtureToolchain() *manifest.Toolchain {
	return &manifest.Toolchain{Path: "toolchain.yaml", Targets: []manifest.Target{
		{Arch: "x86_64", Variant: "default", Images: []string{"default", "systemd"}, Status: "supported", Maintainers: []string{"@x86"}},
		{Arch: "x86_64", Variant: "debug", Images: []string{"default"}, Status: "experimental", Maintainers: []string{"@debug"}},
		{Arch: "aarch64", Variant: "default", Images: []string{"default"}, Status: "deprecated", DeprecatedSince: "2026-01-15", RemovalDate: "2026-07-15"},
	}}
}

func sha256Of(t *testing.T, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
