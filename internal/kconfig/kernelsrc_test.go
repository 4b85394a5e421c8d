//go:build kernelsrc

// These tests run the real Kconfig of the pinned kernel series over the
// fragments: allnoconfig + KCONFIG_ALLCONFIG, olddefconfig, Verify, for every
// arch x variant that applies. They need the kernel source (hack/deps.sh puts
// Debian's linux-source-6.12 at kernelSrcDefault), make, flex, bison, gcc and
// the cross compilers; in CI a missing piece fails the test.
//
//	go test -tags kernelsrc -count=1 ./internal/kconfig/
package kconfig

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/testenv"
)

// kernelSrcDefault is where hack/deps.sh unpacks linux-source-6.12; override
// with GUESTFORGE_KERNEL_SRC.
const kernelSrcDefault = "/var/cache/guestforge/src/linux-source-6.12"

func kernelSource(t *testing.T) (dir, version string) {
	t.Helper()
	dir = os.Getenv("GUESTFORGE_KERNEL_SRC")
	if dir == "" {
		dir = kernelSrcDefault
	}
	mk, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		testenv.Unavailable(t, "kernel source at %s (set GUESTFORGE_KERNEL_SRC or unpack linux-source-6.12 there): %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".config")); err == nil {
		t.Fatalf("%s/.config exists: Kconfig refuses O= builds from a configured tree; run make mrproper there", dir)
	}
	get := func(key string) string {
		m := regexp.MustCompile(`(?m)^` + key + ` = (\d+)$`).FindSubmatch(mk)
		if m == nil {
			t.Fatalf("%s/Makefile has no %s line", dir, key)
		}
		return string(m[1])
	}
	for _, tool := range []string{"make", "flex", "bison", "gcc"} {
		testenv.RequireTool(t, tool)
	}
	return dir, get("VERSION") + "." + get("PATCHLEVEL") + "." + get("SUBLEVEL")
}

// configure runs ConfigCommands for m in objDir and returns the final .config.
func configure(t *testing.T, src, objDir string, m *Merged) []byte {
	t.Helper()
	host, err := arch.Host()
	if err != nil {
		t.Fatal(err)
	}
	cross := m.Arch.CrossCompile(host)
	if cross != "" {
		testenv.RequireTool(t, cross+"gcc")
	}
	frag := filepath.Join(objDir, "guestforge.config")
	if err := os.WriteFile(frag, m.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, argv := range ConfigCommands(m.Arch, MakeOptions{Fragment: frag, CrossCompile: cross, ObjDir: objDir}) {
		cmd := exec.Command(argv[0], append(argv[1:], "-s")...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(objDir, ".config"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestFragmentsSurviveKconfig is the proof that every request in
// kernel-configs/ survives the real Kconfig on every arch and variant.
func TestFragmentsSurviveKconfig(t *testing.T) {
	src, version := kernelSource(t)
	series, err := Series(version)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Load("../../kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	allow, err := tree.Allowlist(series)
	if err != nil {
		t.Fatal(err)
	}
	usedAllow := map[Pos]bool{}
	for _, a := range arch.All() {
		objDir := t.TempDir() // one per arch: Kconfig's tools build once per O=
		for _, v := range tree.Variants() {
			t.Run(a.Name+"/"+v, func(t *testing.T) {
				m, err := tree.Merge(a, v)
				if errors.Is(err, ErrNotApplicable) {
					t.Logf("not a target: %v", err)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				cfg := configure(t, src, objDir, m)
				r, err := m.Verify(cfg, allow)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range r.Excused {
					usedAllow[e.Allowed.Pos] = true
					t.Logf("excused: %s", e)
				}
				t.Logf("linux %s %s/%s id=%s: %d requested symbols survived (%d excused, %d overrides) in %s",
					version, a.Name, v, m.ID(), r.Checked-len(r.Excused), len(r.Excused), len(m.Overrides), time.Since(start).Round(time.Millisecond))
			})
		}
	}
	// An allowlist entry that excuses nothing anywhere is stale.
	if !t.Failed() {
		for _, e := range allow.Entries {
			if !usedAllow[e.Pos] {
				t.Errorf("%s: allowlist entry for %s excused nothing on any arch/variant: delete it", e.Pos, e.Name)
			}
		}
	}
}

// TestDroppedSymbolIsReported asks for a symbol whose dependency is off and
// checks that the real Kconfig drops it and Verify names symbol and file:line.
func TestDroppedSymbolIsReported(t *testing.T) {
	src, _ := kernelSource(t)
	fsys := fstest.MapFS{
		"common/base.conf": {Data: []byte("CONFIG_64BIT=y\nCONFIG_EXPERT=y\nCONFIG_PRINTK=y\n")},
		// VIRTIO_BLK depends on BLOCK, which this tree turns off (BLOCK only has
		// a prompt under EXPERT, hence EXPERT above).
		"common/storage.conf": {Data: []byte("# comment\n# CONFIG_BLOCK is not set\nCONFIG_VIRTIO_MENU=y\nCONFIG_VIRTIO_MMIO=y\nCONFIG_VIRTIO_BLK=y\n")},
	}
	tree, err := LoadFS(fsys, "kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tree.Merge(arch.MustParse("x86_64"), DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configure(t, src, t.TempDir(), m)
	r, err := m.Verify(cfg, &Allowlist{Path: "kernel-configs/allowlist/6.12.conf"})
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("Verify error = %v, want a *VerifyError", err)
	}
	if len(r.Failures) != 1 || r.Failures[0].Want.Name != "CONFIG_VIRTIO_BLK" || r.Failures[0].Present {
		t.Fatalf("failures = %v, want only CONFIG_VIRTIO_BLK absent", r.Failures)
	}
	msg := err.Error()
	for _, want := range []string{"CONFIG_VIRTIO_BLK: wanted y, got absent", "kernel-configs/common/storage.conf:5", "kernel-configs/allowlist/6.12.conf"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	// The other requests did survive, so the failure is the drop, not a broken run.
	if got := fmt.Sprint(r.Checked); got != "7" {
		t.Errorf("checked %s symbols, want 7", got)
	}
}
