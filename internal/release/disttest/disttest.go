// Package disttest builds small but real dist/<version>/ trees for the
// release packages' tests: ELF headers for the arch, real newc initrds
// packed by internal/initrd (agent mode and systemd mode) holding a dpkg
// status file in real deb822 syntax, and deterministic pseudo-random image
// files. Same call, same bytes, so tests can compare digests across runs.
package disttest

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/initrd"
)

// Facts about the generated tree that tests assert on.
const (
	Version       = "2026.1.0"
	KernelVersion = "6.12.117"
	ConfigID      = "3f2a9c1d"
	Epoch         = 1767225600
	// RootfsSize is big enough that a proxy can single the rootfs blob out
	// by size when it cuts an upload short.
	RootfsSize = 384 << 10
)

// Arches are the arches a default tree holds: one little-endian host arch
// and one foreign one.
var Arches = []arch.Arch{arch.MustParse("x86_64"), arch.MustParse("aarch64")}

// Status is the dpkg status file put in every initrd. It exercises what real
// status files hold: multi-line fields, a Source with its own version, an
// epoch, architecture all, a '+' in a name, and packages that are not
// installed (removed with config files left, half-installed) which an SBOM
// must not list.
const Status = `Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: ARCH
Multi-Arch: foreign
Version: 12.4+deb12u10
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conffiles:
 /etc/debian_version 5b6a1e3c2cb4e5e6a0b7c1d6a1f0b5a5
 /etc/host.conf 4eb63731c9f5e30903ac4fc07a7fe3d6
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system, and
 several important miscellaneous files, such as /etc/debian_version,
 .
 /etc/host.conf, /etc/issue, /etc/motd, /etc/profile, and others,
Homepage: https://tracker.debian.org/pkg/base-files

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12988
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: ARCH
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: libstdc++6
Status: install ok installed
Priority: optional
Section: libs
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Architecture: ARCH
Source: gcc-12 (12.2.0-14+deb12u1)
Version: 12.2.0-14+deb12u1
Description: GNU Standard C++ Library v3

Package: iptables
Status: install ok installed
Maintainer: Debian Netfilter Packaging Team <pkg-netfilter-team@lists.alioth.debian.org>
Architecture: ARCH
Version: 1.8.9-2
Description: administration tools for packet filtering and NAT

Package: ca-certificates
Status: install ok installed
Maintainer: Julien Cristau <jcristau@debian.org>
Architecture: all
Version: 20230311+deb12u1
Description: Common CA certificates

Package: kmod
Status: install ok installed
Maintainer: Marco d'Itri <md@linux.it>
Architecture: ARCH
Version: 30+20221128-1
Description: tools for managing Linux kernel modules

Package: libcap2
Status: install ok installed
Maintainer: Christian Kastner <ckk@debian.org>
Architecture: ARCH
Version: 1:2.66-4+deb12u1
Description: POSIX 1003.1e capabilities (library)

Package: vim-tiny
Status: deinstall ok config-files
Priority: important
Maintainer: Debian Vim Maintainers <team+vim@tracker.debian.org>
Architecture: ARCH
Source: vim
Version: 2:9.0.1378-2
Config-Version: 2:9.0.1378-2
Conffiles:
 /etc/vim/vimrc.tiny 5f4b8d7b9a6f2a8c1e3b4d5c6a7f8e9d
Description: Vi IMproved - enhanced vi editor - compact version

Package: nano
Status: install reinstreq half-installed
Maintainer: Jordi Mallach <jordi@debian.org>
Architecture: ARCH
Version: 7.2-1+deb12u1
Description: small, friendly text editor inspired by Pico
`

// InstalledPackages is how many stanzas of Status are installed.
const InstalledPackages = 7

var (
	templateOnce sync.Once
	template     map[string][]byte // tree-relative path -> content
	templateErr  error
)

// Build writes a dist tree for Version under parent (parent/<Version>) and
// returns its path. The tree is generated once per test binary and kept in
// memory (about 2 MiB): packing initrds is the slow part, and every copy is
// byte-identical anyway.
func Build(t testing.TB, parent string) string {
	t.Helper()
	templateOnce.Do(func() { template, templateErr = generateInMemory() })
	if templateErr != nil {
		t.Fatalf("generate dist tree: %v", templateErr)
	}
	root := filepath.Join(parent, Version)
	for rel, b := range template {
		p := filepath.Join(root, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		write(t, p, b)
	}
	return root
}

func generateInMemory() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "guestforge-disttest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := generate(dir); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	root := filepath.Join(dir, Version)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	return out, err
}

// generate writes the tree under parent.
func generate(parent string) (err error) {
	// The helpers below report through a testing.TB; collect into err.
	tb := &collector{}
	defer func() {
		if r := recover(); r != nil {
			if r != errStop {
				panic(r)
			}
			err = tb.err
		}
	}()
	generateTB(tb, parent)
	return tb.err
}

func generateTB(t testing.TB, parent string) {
	root := filepath.Join(parent, Version)
	for _, a := range Arches {
		dir := filepath.Join(root, a.Name)
		must(t, os.MkdirAll(dir, 0o755))
		kernel := func(k artifact.Kind) string {
			return filepath.Join(dir, artifact.KernelName(k, KernelVersion, ConfigID))
		}
		write(t, kernel(artifact.Kernel), append(ELF(a), Bytes("vmlinux "+a.Name, 48<<10)...))
		write(t, kernel(artifact.KernelImage), Bytes("vmlinuz "+a.Name, 40<<10))
		write(t, kernel(artifact.KernelConfig), []byte("CONFIG_VIRTIO=y\nCONFIG_VSOCKETS=y\n# CONFIG_MODULES is not set\n"))
		write(t, kernel(artifact.SystemMap), []byte("ffffffff81000000 T _text\nffffffff81000000 T startup_64\n"))
		write(t, filepath.Join(dir, artifact.RootfsImageName("default")), Bytes("rootfs "+a.Name, RootfsSize))
		write(t, filepath.Join(dir, artifact.VerityTreeName("default")), Bytes("verity "+a.Name, 8<<10))
		write(t, filepath.Join(dir, artifact.RootHashName), []byte(Hex("roothash "+a.Name)+"\n"))
		BuildInitrd(t, a, initrd.InitAgent, initrd.Gzip, filepath.Join(dir, artifact.InitrdName("default")))
		BuildInitrd(t, a, initrd.InitSystemd, initrd.Zstd, filepath.Join(dir, artifact.InitrdName("systemd")))
	}
}

// Fixture firmware for confidential trees: the edk2-stable202405 AmdSev
// suffix that sev-snp-measure's vectors measure, and the synthetic TDVF of
// internal/tdxmeasure's vectors (the READMEs beside them say where they come
// from). Measurements over them are checked against those vectors.
var (
	SNPFirmwareFixture = fixture("snpmeasure", "ovmf_AmdSev_suffix.bin")
	TDXFirmwareFixture = fixture("tdxmeasure", "synthetic_tdvf.bin")
	// EFIKernelFixture stands for a confidential kernel, which has the EFI
	// stub: TDX RTMR[1] is its Authenticode digest, so the plain bytes of
	// Build's boot image cannot be measured for TDX.
	EFIKernelFixture = fixture("authenticode", "synthetic.efi")
)

// fixture is a file of internal/<pkg>/testdata, wherever the test that
// asks runs: the path is taken from this source file's place.
func fixture(pkg, name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", pkg, "testdata", name)
}

// AddFirmware puts the fixture firmware into root's x86_64 directory as
// ovmf-amdsev.fd and ovmf-inteltdx.fd, and EFIKernelFixture in place of
// its boot image, as a confidential build leaves them.
func AddFirmware(t testing.TB, root string) {
	t.Helper()
	k, err := os.ReadFile(EFIKernelFixture)
	must(t, err)
	write(t, filepath.Join(root, BootImage(arch.MustParse("x86_64"))), k)
	for name, src := range map[string]string{
		artifact.FirmwareName(artifact.FirmwareAmdSev):   SNPFirmwareFixture,
		artifact.FirmwareName(artifact.FirmwareIntelTdx): TDXFirmwareFixture,
	} {
		b, err := os.ReadFile(src)
		must(t, err)
		write(t, filepath.Join(root, "x86_64", name), b)
	}
}

// BootImage is the tree-relative path of a's kernel boot image.
func BootImage(a arch.Arch) string {
	return a.Name + "/" + artifact.KernelName(artifact.KernelImage, KernelVersion, ConfigID)
}

// BuildInitrd packs a small guest tree with internal/initrd: the dpkg
// status, and an ELF agent (plus an ELF systemd in systemd mode).
func BuildInitrd(t testing.TB, a arch.Arch, mode initrd.InitMode, c initrd.Compression, out string) {
	t.Helper()
	tree, err := os.MkdirTemp("", "guestforge-disttest-tree-")
	must(t, err)
	defer os.RemoveAll(tree)
	status := []byte(strings.ReplaceAll(Status, "ARCH", a.DebianArch))
	must(t, os.MkdirAll(filepath.Join(tree, "var/lib/dpkg"), 0o755))
	write(t, filepath.Join(tree, "var/lib/dpkg/status"), status)
	if mode == initrd.InitSystemd {
		must(t, os.MkdirAll(filepath.Join(tree, "lib/systemd"), 0o755))
		writeExec(t, filepath.Join(tree, "lib/systemd/systemd"), append(ELF(a), Bytes("systemd "+a.Name, 4<<10)...))
	}
	bin, err := os.MkdirTemp("", "guestforge-disttest-agent-")
	must(t, err)
	defer os.RemoveAll(bin)
	agent := filepath.Join(bin, "agent")
	writeExec(t, agent, Agent(a))
	if _, err := initrd.Build(initrd.Spec{Root: tree, Init: mode, Agent: agent, Arch: a, Compression: c, Epoch: Epoch}, out); err != nil {
		t.Fatalf("pack %s initrd for %s: %v", mode, a.Name, err)
	}
}

// Agent is the stand-in agent binary for a: an ELF header and filler.
func Agent(a arch.Arch) []byte { return append(ELF(a), Bytes("agent "+a.Name, 16<<10)...) }

// ELF is a minimal, valid ELF64 executable header for a (no program or
// section headers), enough for debug/elf and internal/arch.FromELF.
func ELF(a arch.Arch) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4] = byte(a.ELFClass)
	h[5] = byte(a.ELFData)
	h[6] = 1 // EV_CURRENT
	var bo binary.ByteOrder = binary.LittleEndian
	if a.ELFData == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	bo.PutUint16(h[16:], 2) // ET_EXEC
	bo.PutUint16(h[18:], uint16(a.ELFMachine))
	bo.PutUint32(h[20:], 1)
	bo.PutUint16(h[52:], 64)   // e_ehsize
	bo.PutUint16(h[54:], 0x38) // e_phentsize
	bo.PutUint16(h[58:], 0x40) // e_shentsize
	return h
}

// Bytes is n deterministic pseudo-random bytes seeded by seed (SHA-256 in
// counter mode): incompressible like real images, identical on every run.
func Bytes(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		s := sha256.Sum256(append([]byte(seed), ctr[:]...))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// Hex is a deterministic hex string (a fake root hash).
func Hex(seed string) string {
	s := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(s[:])
}

func write(t testing.TB, p string, b []byte) {
	t.Helper()
	must(t, os.WriteFile(p, b, 0o644))
}

func writeExec(t testing.TB, p string, b []byte) {
	t.Helper()
	must(t, os.WriteFile(p, b, 0o755))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var errStop = errors.New("disttest: stop")

// collector is the testing.TB generate runs the helpers with, outside any
// test: Fatal records the error and unwinds.
type collector struct {
	testing.TB
	err error
}

func (c *collector) Helper() {}
func (c *collector) Fatal(args ...any) {
	c.err = errors.New(fmt.Sprint(args...))
	panic(errStop)
}
func (c *collector) Fatalf(format string, args ...any) {
	c.err = fmt.Errorf(format, args...)
	panic(errStop)
}
