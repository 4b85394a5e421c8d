package build

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
)

// loadToolchain loads a pinned copy of the repository's toolchain.yaml: the plans
// below name its targets and dates, which the live file may change.
func loadToolchain(t *testing.T) *manifest.Toolchain {
	t.Helper()
	tc, err := manifest.Load("testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func jobs(p MatrixPlan) (kernels, images []string) {
	for _, k := range p.Kernels {
		kernels = append(kernels, k.Arch.Name+"/"+k.Variant)
	}
	for _, i := range p.Images {
		images = append(images, i.Arch.Name+"/"+i.Image)
	}
	return kernels, images
}

func TestPlanMatrix(t *testing.T) {
	tc := loadToolchain(t)
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name            string
		spec            MatrixSpec
		kernels, images string
	}{
		{"all targets", MatrixSpec{AsOf: day},
			"x86_64/default x86_64/confidential x86_64/debug aarch64/default s390x/default ppc64le/default",
			"x86_64/default x86_64/systemd aarch64/default aarch64/systemd s390x/default ppc64le/default"},
		{"one arch by alias", MatrixSpec{Arches: []string{"amd64"}, AsOf: day},
			"x86_64/default x86_64/confidential x86_64/debug", "x86_64/default x86_64/systemd"},
		{"comma list, test kernels", MatrixSpec{Arches: []string{"x86_64,aarch64"}, KernelVariant: "test", AsOf: day},
			"x86_64/test aarch64/test", "x86_64/default x86_64/systemd aarch64/default aarch64/systemd"},
		{"images only", MatrixSpec{Arches: []string{"s390x"}, NoKernel: true, AsOf: day}, "", "s390x/default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanMatrix(tc, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			k, i := jobs(p)
			if got := strings.Join(k, " "); got != c.kernels {
				t.Errorf("kernels = %q, want %q", got, c.kernels)
			}
			if got := strings.Join(i, " "); got != c.images {
				t.Errorf("images = %q, want %q", got, c.images)
			}
		})
	}
}

func TestPlanMatrixDeprecationAndRemoval(t *testing.T) {
	tc := loadToolchain(t)
	// ppc64le is deprecated until 2027-03-15: built with a warning before, skipped after.
	p, err := PlanMatrix(tc, MatrixSpec{Arches: []string{"ppc64le"}, AsOf: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 1 || !strings.Contains(strings.Join(p.Warnings, "\n"), "2027-03-15") {
		t.Errorf("deprecated target: images %v, warnings %v", p.Images, p.Warnings)
	}
	_, err = PlanMatrix(tc, MatrixSpec{Arches: []string{"ppc64le"}, AsOf: time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)})
	if err == nil || !strings.Contains(err.Error(), "nothing to build") || !strings.Contains(err.Error(), "removal date") {
		t.Errorf("a target past its removal date: err = %v", err)
	}
	for _, bad := range []string{"sparc", ""} {
		_, err := PlanMatrix(tc, MatrixSpec{Arches: []string{bad + ",mips"}, AsOf: time.Now()})
		if err == nil || !strings.Contains(err.Error(), "unknown architecture") {
			t.Errorf("--arches %q: err = %v", bad, err)
		}
	}
}

func TestKernelVariantArg(t *testing.T) {
	for arg, want := range map[string]string{TargetVariants: "", "test": "test", "confidential": "confidential"} {
		if got := KernelVariantArg(arg); got != want {
			t.Errorf("KernelVariantArg(%q) = %q, want %q", arg, got, want)
		}
	}
}

// A measured target adds one firmware job for its arch, however many measured
// targets the arch has; images-only builds leave firmware out with the kernels.
func TestPlanMatrixFirmware(t *testing.T) {
	data, err := os.ReadFile("testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `maintainers: ["@guestforge/coco"]}`, `maintainers: ["@guestforge/coco"], measure: {tdx_page_orders: [per-page]}}`, 1)
	src = strings.Replace(src, `status: experimental`, `status: experimental, measure: {tdx_page_orders: [per-page]}`, 1)
	src += `firmware:
  edk2: {version: "2025.02", url: "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02.orig.tar.xz", sha256: "b63b6053d6d89c74d9291f9e96fde1584be99e6fb9c169ba9511505129d6b049", feed: edk2}
`
	tc, err := manifest.Parse("toolchain.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		spec MatrixSpec
		want []string
	}{
		{MatrixSpec{AsOf: day}, []string{"firmware/x86_64"}},
		{MatrixSpec{AsOf: day, KernelVariant: "test"}, []string{"firmware/x86_64"}},
		{MatrixSpec{AsOf: day, Arches: []string{"aarch64"}}, nil},
		{MatrixSpec{AsOf: day, NoKernel: true}, nil},
	} {
		p, err := PlanMatrix(tc, c.spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range p.Firmware {
			got = append(got, FirmwareJobID(j))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: firmware jobs %v, want %v", c.spec, got, c.want)
		}
	}
	if p, _ := PlanMatrix(loadToolchain(t), MatrixSpec{AsOf: day}); len(p.Firmware) != 0 {
		t.Errorf("no measured target, firmware jobs %v", p.Firmware)
	}
}
