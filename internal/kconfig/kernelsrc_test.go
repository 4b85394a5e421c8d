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
	"sync"
	"testing"
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
	// Arches run in parallel (each has its own O= directory, so Kconfig's host tools
	// build once per arch); variants of one arch share that directory and run in order.
	var mu sync.Mutex
	usedAllow := map[Pos]bool{}
	t.Run("arch", func(t *testing.T) {
		for _, a := range arch.All() {
			t.Run(a.Name, func(t *testing.T) {
				t.Parallel()
				objDir := t.TempDir()
				for _, v := range tree.Variants() {
					t.Run(v, func(t *testing.T) {
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
						mu.Lock()
						for _, e := range r.Excused {
							usedAllow[e.Allowed.Pos] = true
							t.Logf("excused: %s", e)
						}
						mu.Unlock()
						t.Logf("linux %s %s/%s id=%s: %d requested symbols survived (%d excused, %d overrides) in %s",
							version, a.Name, v, m.ID(), r.Checked-len(r.Excused), len(r.Excused), len(m.Overrides), time.Since(start).Round(time.Millisecond))
					})
				}
			})
		}
	})
	// An allowlist entry that excuses nothing anywhere is stale.
	if !t.Failed() {
		for _, e := range allow.Entries {
			if !usedAllow[e.Pos] {
				t.Errorf("%s: allowlist entry for %s excused nothing on any arch/variant: delete it", e.Pos, e.Name)
			}
		}
	}
}

// TestDroppedSymbolIsReported asks for a symbol whose dependency is off
// (testdata/dropped) and checks that the real Kconfig drops it and Verify
// names the symbol and the fragment file:line. The .config it produces must
// match the checked-in fixture the tier-1 TestDroppedFixture reads;
// GUESTFORGE_UPDATE_FIXTURES=1 rewrites the fixture.
func TestDroppedSymbolIsReported(t *testing.T) {
	src, version := kernelSource(t)
	m := droppedMerge(t)
	cfg := configure(t, src, t.TempDir(), m)
	assertDropped(t, m, cfg)
	if os.Getenv("GUESTFORGE_UPDATE_FIXTURES") == "1" {
		if err := os.WriteFile(droppedFixture, cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s from linux %s", droppedFixture, version)
		return
	}
	fixture, err := os.ReadFile(droppedFixture)
	if err != nil {
		t.Fatal(err)
	}
	// Compare the settings, not the bytes: the header names the compiler.
	if got, want := settingLines(t, cfg), settingLines(t, fixture); got != want {
		t.Errorf("real Kconfig output differs from %s (GUESTFORGE_UPDATE_FIXTURES=1 rewrites it):\n%s", droppedFixture, lineDiff(want, got))
	}
}

func settingLines(t *testing.T, cfg []byte) string {
	t.Helper()
	f, err := Parse(".config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range f.Settings {
		if toolchainDependent(s.Name) {
			continue
		}
		b.WriteString(s.Line() + "\n")
	}
	return b.String()
}

// toolchainDependent symbols record the compiler that ran Kconfig.
func toolchainDependent(name string) bool {
	for _, p := range []string{"CONFIG_CC_", "CONFIG_GCC_", "CONFIG_CLANG_", "CONFIG_AS_", "CONFIG_LD_", "CONFIG_LLD_", "CONFIG_PAHOLE_", "CONFIG_RUSTC_", "CONFIG_TOOLS_SUPPORT_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func lineDiff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
