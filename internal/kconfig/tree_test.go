package kconfig

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guestforge/guestforge/internal/arch"
)

// The checked-in kernel-configs/ tree: every fragment and allowlist parses,
// every arch x variant merges (or is declared not applicable), and the
// properties the pipeline relies on hold. Kconfig itself is exercised by the
// kernelsrc-tagged tests.
func TestRepoTree(t *testing.T) {
	tree, err := Load("../../kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	wantVariants := "default,confidential,debug,gpu,test"
	if got := strings.Join(tree.Variants(), ","); got != wantVariants {
		t.Errorf("variants = %s, want %s", got, wantVariants)
	}
	if _, err := tree.Allowlist("6.12"); err != nil {
		t.Error(err)
	}
	ids := map[string]string{}
	targets := 0
	for _, a := range arch.All() {
		for _, v := range tree.Variants() {
			m, err := tree.Merge(a, v)
			if errors.Is(err, ErrNotApplicable) {
				if v != "gpu" || a.Name == "x86_64" || a.Name == "aarch64" {
					t.Errorf("%s/%s unexpectedly not applicable: %v", a.Name, v, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", a.Name, v, err)
				continue
			}
			targets++
			if prev, dup := ids[m.ID()]; dup {
				t.Errorf("%s/%s has the same config id as %s", a.Name, v, prev)
			}
			ids[m.ID()] = a.Name + "/" + v
			if (v == "test") != m.Standalone {
				t.Errorf("%s/%s standalone = %v; only the test variant is standalone", a.Name, v, m.Standalone)
			}
			// Every guest boots an initrd and has a console; the modules
			// policy is "off" except for gpu.
			for _, sym := range []string{"CONFIG_BLK_DEV_INITRD", "CONFIG_RD_GZIP", "CONFIG_RD_ZSTD", "CONFIG_DEVTMPFS", "CONFIG_TTY", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS"} {
				if s, ok := m.Lookup(sym); !ok || s.Value.Text != "y" {
					t.Errorf("%s/%s: %s not requested as y", a.Name, v, sym)
				}
			}
			mod, _ := m.Lookup("CONFIG_MODULES")
			if wantMod := v == "gpu"; (mod.Value.Text == "y") != wantMod && v != "test" {
				t.Errorf("%s/%s: CONFIG_MODULES=%s", a.Name, v, mod.Value)
			}
			if again, _ := tree.Merge(a, v); string(again.Bytes()) != string(m.Bytes()) {
				t.Errorf("%s/%s: merge is not deterministic", a.Name, v)
			}
		}
	}
	if targets != 18 {
		t.Errorf("%d arch/variant targets, want 18 (4 arches x 5 variants, gpu only on x86_64 and aarch64)", targets)
	}
}

// A tree load reports the syntax errors of every file in one go, fragments
// and allowlists alike.
func TestLoadReportsEveryFile(t *testing.T) {
	fsys := fstest.MapFS{
		"common/a.conf":           {Data: []byte("CONFIG_A=y\nCONFIG_B =y\n")},
		"common/b.conf":           {Data: []byte("#CONFIG_OFF_BY_COMMENT=y\n# CONFIG_C is not  set\n")},
		"x86_64/c.conf":           {Data: []byte("CONFIG_D=maybe\n")},
		"variants/v/only.conf":    {Data: []byte("junk\n")},
		"allowlist/6.12.conf":     {Data: []byte("CONFIG_E\n")},
		"variants/ok/fine.conf":   {Data: []byte("CONFIG_F=y\n")},
		"aarch64/clean.conf":      {Data: []byte("# CONFIG_G is not set\n")},
		"common/README.md":        {Data: []byte("not a fragment\n")},
		"variants/ok/notes.txt":   {Data: []byte("ignored\n")},
		"allowlist/notes.md":      {Data: []byte("ignored\n")},
		"x86_64/also-clean.conf":  {Data: []byte("CONFIG_H=y\n")},
		"common/zz-valid.conf":    {Data: []byte("CONFIG_I=y\n")},
		"variants/v/another.conf": {Data: []byte("CONFIG_J=y\n")},
	}
	_, err := LoadFS(fsys, "kc")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("LoadFS error = %v, want an ErrorList", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Pos.String())
	}
	want := "kc/allowlist/6.12.conf:1 kc/common/a.conf:2 kc/common/b.conf:2 kc/variants/v/only.conf:1 kc/x86_64/c.conf:1"
	if strings.Join(got, " ") != want {
		t.Errorf("error positions %v, want %s", got, want)
	}
	if !strings.HasPrefix(err.Error(), "kernel config tree kc has 5 syntax errors:\nkc/allowlist/6.12.conf:1: allowlist entry needs a reason") {
		t.Errorf("error = %v", err)
	}
}

// What Kata's runtime relies on in an x86_64 guest (a DAX root on an NVDIMM,
// PCI hot-plug, sidecar iptables rules, memory.swap.max, hvc0, the KVM PTP
// clock) is requested by default and confidential; a confidential guest takes
// no entropy from the host's virtio-rng.
func TestRepoTreeKataRuntimeNeeds(t *testing.T) {
	tree, err := Load("../../kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	needs := []string{
		"CONFIG_LIBNVDIMM", "CONFIG_BLK_DEV_PMEM", "CONFIG_ND_PFN", "CONFIG_NVDIMM_PFN", "CONFIG_NVDIMM_DAX",
		"CONFIG_DAX", "CONFIG_FS_DAX", "CONFIG_ACPI_NFIT",
		"CONFIG_HOTPLUG_PCI", "CONFIG_HOTPLUG_PCI_PCIE", "CONFIG_HOTPLUG_PCI_ACPI", "CONFIG_HOTPLUG_PCI_SHPC",
		"CONFIG_PCIEPORTBUS", "CONFIG_ACPI_PCI_SLOT",
		"CONFIG_NETFILTER_XT_MATCH_OWNER", "CONFIG_NETFILTER_XT_MATCH_MULTIPORT", "CONFIG_NETFILTER_XT_MATCH_MARK",
		"CONFIG_NETFILTER_XT_TARGET_TPROXY", "CONFIG_NETFILTER_XT_TARGET_REDIRECT", "CONFIG_IP_NF_TARGET_REJECT",
		"CONFIG_NF_CONNTRACK", "CONFIG_NF_NAT",
		"CONFIG_SWAP", "CONFIG_TUN", "CONFIG_BRIDGE", "CONFIG_VXLAN", "CONFIG_VETH", "CONFIG_MACVLAN",
		"CONFIG_XFS_FS", "CONFIG_PTP_1588_CLOCK_KVM", "CONFIG_VIRTIO_CONSOLE",
	}
	x86 := arch.MustParse("x86_64")
	for _, v := range []string{DefaultVariant, "confidential"} {
		m, err := tree.Merge(x86, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, sym := range needs {
			if s, ok := m.Lookup(sym); !ok || s.Value.Text != "y" {
				t.Errorf("x86_64/%s: %s not requested as y", v, sym)
			}
		}
		rng, _ := m.Lookup("CONFIG_HW_RANDOM_VIRTIO")
		if wantOff := v == "confidential"; rng.Value.IsOff() != wantOff {
			t.Errorf("x86_64/%s: CONFIG_HW_RANDOM_VIRTIO=%s", v, rng.Value)
		}
	}
	// The test variant boots Kata's way: hvc0, a DAX root on an NVDIMM,
	// an msdos-partitioned image with dm-verity built by dm-init, ext4 or erofs.
	m, err := tree.Merge(x86, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"CONFIG_VIRTIO_CONSOLE", "CONFIG_LIBNVDIMM", "CONFIG_BLK_DEV_PMEM", "CONFIG_ND_PFN",
		"CONFIG_NVDIMM_PFN", "CONFIG_FS_DAX", "CONFIG_ACPI_NFIT", "CONFIG_MSDOS_PARTITION", "CONFIG_PARTITION_ADVANCED",
		"CONFIG_DM_INIT", "CONFIG_DM_VERITY", "CONFIG_EXT4_FS", "CONFIG_EROFS_FS"} {
		if s, ok := m.Lookup(sym); !ok || s.Value.Text != "y" {
			t.Errorf("x86_64/test: %s not requested as y", sym)
		}
	}
}
