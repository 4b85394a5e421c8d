package kconfig

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

// droppedFixture is the .config Linux 6.12.117's Kconfig wrote for
// testdata/dropped on x86_64 (allnoconfig + KCONFIG_ALLCONFIG, olddefconfig);
// the kernelsrc-tagged TestDroppedSymbolIsReported checks it still matches.
const droppedFixture = "testdata/dropped/x86_64.config"

func droppedMerge(t *testing.T) *Merged {
	t.Helper()
	tree, err := Load("testdata/dropped/kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tree.Merge(arch.MustParse("x86_64"), DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// assertDropped: CONFIG_VIRTIO_BLK (needs BLOCK, which the tree turns off) is
// the one failure, named with wanted/got and its fragment file:line, and the
// other six requests survived.
func assertDropped(t *testing.T, m *Merged, dotConfig []byte) {
	t.Helper()
	r, err := m.Verify(dotConfig, &Allowlist{Path: "kernel-configs/allowlist/6.12.conf"})
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("Verify error = %v, want a *VerifyError", err)
	}
	if r.Checked != 7 || len(r.Failures) != 1 || r.Failures[0].Want.Name != "CONFIG_VIRTIO_BLK" || r.Failures[0].Present {
		t.Fatalf("checked %d, failures %v; want 7 checked and only CONFIG_VIRTIO_BLK absent", r.Checked, r.Failures)
	}
	msg := err.Error()
	for _, want := range []string{
		"kernel config x86_64/default: 1 requested symbol(s) dropped or changed",
		"CONFIG_VIRTIO_BLK: wanted y, got absent",
		"testdata/dropped/kernel-configs/common/storage.conf:6",
		"kernel-configs/allowlist/6.12.conf",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
}

func TestDroppedFixture(t *testing.T) {
	cfg, err := os.ReadFile(droppedFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "# Linux/x86 6.12.117 Kernel Configuration") {
		t.Fatalf("%s is not a Linux 6.12.117 x86 .config", droppedFixture)
	}
	assertDropped(t, droppedMerge(t), cfg)
}
