package kconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
)

const kataFixture = "testdata/kata-x86_64"

// Kata's fragment directory loads with every comment style it uses, and
// merges the way build-kernel.sh assembles a plain and a confidential kernel.
func TestLoadKataFixture(t *testing.T) {
	tree, err := LoadKata(kataFixture)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tree.Variants(), ","); got != "default,confidential" {
		t.Errorf("variants = %s, want default,confidential", got)
	}
	x86 := arch.MustParse("x86_64")
	def, err := tree.Merge(x86, DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	wantDefault := `# guestforge merged kernel config request
# arch=x86_64
CONFIG_DAX=y
CONFIG_FS_DAX=y
CONFIG_HAVE_PERF_EVENTS=y
CONFIG_HOTPLUG_PCI_SHPC=y
CONFIG_HW_RANDOM=y
CONFIG_HW_RANDOM_VIRTIO=y
CONFIG_LIBNVDIMM=y
# CONFIG_MODULES is not set
CONFIG_ND_PFN=y
CONFIG_NR_CPUS=240
CONFIG_NVDIMM_PFN=y
CONFIG_PCI=y
CONFIG_PERF_EVENTS=y
CONFIG_PRINTK=y
CONFIG_PVH=y
CONFIG_SMP=y
CONFIG_TTY=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_CONSOLE=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_PCI=y
CONFIG_VMAP_STACK=y
CONFIG_X86_X2APIC=y
`
	if got := string(def.Bytes()); got != wantDefault {
		t.Errorf("x86_64 default merge:\n%s\nwant:\n%s", got, wantDefault)
	}
	// Commented-out settings request nothing, not even =n.
	for _, sym := range []string{"CONFIG_BLK_DEV_RAM", "CONFIG_XFRM_MIGRATE", "CONFIG_DAX_DRIVER", "CONFIG_PREVENT_FIRMWARE_BUILD", "CONFIG_DM_CRYPT", "CONFIG_TMPFS_XATTR"} {
		if s, ok := def.Lookup(sym); ok {
			t.Errorf("default requests %s from %s", s.Line(), s.Pos)
		}
	}
	if s, _ := def.Lookup("CONFIG_MODULES"); s.Pos.String() != kataFixture+"/common/base.conf:18" {
		t.Errorf("CONFIG_MODULES position %s, want common/base.conf:18", s.Pos)
	}

	conf, err := tree.Merge(x86, KataVariant)
	if err != nil {
		t.Fatal(err)
	}
	wantFrags := []string{"common/base.conf", "common/dax.conf", "common/mmu.conf", "common/virtio.conf",
		"x86_64/base.conf", "x86_64/hotplug.conf",
		"common/confidential_containers/tmpfs.conf", "x86_64/confidential/snp.conf", "x86_64/confidential/tdx.conf"}
	for i := range wantFrags {
		wantFrags[i] = kataFixture + "/" + wantFrags[i]
	}
	if got := strings.Join(conf.Fragments, " "); got != strings.Join(wantFrags, " ") {
		t.Errorf("confidential fragments:\n%s\nwant (no !confidential virtio-extras.conf, tmpfs.conf added):\n%s", got, strings.Join(wantFrags, " "))
	}
	for sym, want := range map[string]string{
		"CONFIG_INTEL_TDX_GUEST": "y", "CONFIG_AMD_MEM_ENCRYPT": "y", "CONFIG_EFI": "y",
		"CONFIG_TMPFS_XATTR": "y", "CONFIG_FS_DAX": "y", "CONFIG_NR_CPUS": "240",
	} {
		if s, ok := conf.Lookup(sym); !ok || s.Value.Text != want {
			t.Errorf("confidential %s = %v (requested %v), want %s", sym, s.Value, ok, want)
		}
	}
	for _, sym := range []string{"CONFIG_HW_RANDOM", "CONFIG_HW_RANDOM_VIRTIO", "CONFIG_DM_CRYPT"} {
		if s, ok := conf.Lookup(sym); ok {
			t.Errorf("confidential requests %s from %s", s.Line(), s.Pos)
		}
	}
	if len(conf.Overrides) != 0 || len(def.Overrides) != 0 {
		t.Errorf("overrides: default %v, confidential %v; want none", def.Overrides, conf.Overrides)
	}

	// Kata greps for "!s390": "# !s390x" leaves dax.conf out of s390x too;
	// "#!powerpc" leaves mmu.conf out of ppc64le.
	s390, err := tree.Merge(arch.MustParse("s390x"), DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s390.Lookup("CONFIG_FS_DAX"); ok {
		t.Error("s390x requests FS_DAX: the \"# !s390x\" tag was ignored")
	}
	if s, ok := s390.Lookup("CONFIG_S390_GUEST"); !ok || s.Value.Text != "y" {
		t.Error("s390x does not request S390_GUEST from s390/base.conf")
	}
	ppc, err := tree.Merge(arch.MustParse("ppc64le"), DefaultVariant)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ppc.Lookup("CONFIG_VMAP_STACK"); ok {
		t.Error("ppc64le requests VMAP_STACK: the \"#!powerpc\" tag was ignored")
	}
	if _, err := tree.Merge(arch.MustParse("s390x"), KataVariant); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("s390x confidential (no s390/confidential/ in the fixture): %v, want ErrNotApplicable", err)
	}
}

// A syntax error in a Kata directory is reported like one of ours, all at once.
func TestLoadKataReportsErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/common/a.conf", "CONFIG_A = y\n# CONFIG_B is not  set\n")
	writeFile(t, dir+"/x86_64/b.conf", "CONFIG_C=sure\n")
	_, err := LoadKata(dir)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("LoadKata error = %v, want 3 errors", err)
	}
	if list[0].Pos.String() != dir+"/common/a.conf:1" || list[2].Pos.String() != dir+"/x86_64/b.conf:1" {
		t.Errorf("positions %s, %s", list[0].Pos, list[2].Pos)
	}
	if _, err := LoadKata(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no common/*.conf fragments") {
		t.Errorf("empty directory: %v", err)
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
