package manifest

import (
	"reflect"
	"strings"
	"testing"
)

// withMeasure gives base's x86_64 target a measure: block, and the firmware
// pin a measured target needs (at the end, so base's line numbers hold).
func withMeasure(t *testing.T, block string) string {
	t.Helper()
	return edit(t, `maintainers: ["@guestforge/x86"]}`, `maintainers: ["@guestforge/x86"], measure: `+block+`}`) + edk2Pin
}

const edk2Pin = `firmware:
  edk2:
    version: "2025.02"
    url: "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02.orig.tar.xz"
    sha256: "b63b6053d6d89c74d9291f9e96fde1584be99e6fb9c169ba9511505129d6b049"
    patches:
      url: "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02-8+deb13u1.debian.tar.xz"
      sha256: "e2a7f6fc58640818416a028d6d5e9dfc255697a7cdc60c14566c236df6bd9b08"
    feed: edk2
`

func TestParseFirmware(t *testing.T) {
	m, err := Parse("toolchain.yaml", []byte(withMeasure(t, "{tdx_page_orders: [per-page]}")))
	if err != nil {
		t.Fatal(err)
	}
	want := Edk2{Version: "2025.02", URL: "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02.orig.tar.xz",
		SHA256:        "b63b6053d6d89c74d9291f9e96fde1584be99e6fb9c169ba9511505129d6b049",
		PatchesURL:    "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02-8+deb13u1.debian.tar.xz",
		PatchesSHA256: "e2a7f6fc58640818416a028d6d5e9dfc255697a7cdc60c14566c236df6bd9b08", Feed: FeedEdk2, Line: 21, Column: 14}
	if got := m.Firmware.Edk2; got != want {
		t.Errorf("firmware.edk2 = %+v\nwant %+v", got, want)
	}
	if tag := m.Firmware.Edk2.Tag(); tag != "edk2-stable202502" {
		t.Errorf("Tag() = %s", tag)
	}
}

// Every mistake in the firmware pin is named with its line.
func TestParseFirmwareErrors(t *testing.T) {
	measured := edit(t, `maintainers: ["@guestforge/x86"]}`, `maintainers: ["@guestforge/x86"], measure: {tdx_page_orders: [per-page]}}`)
	for name, c := range map[string]struct{ src, want string }{
		"no firmware": {measured, `toolchain.yaml:16:119: a target with measure: needs firmware.edk2 (the pinned edk2 source its OVMF is built from): add firmware: {edk2: {version, url, sha256, feed: edk2}}`},
		"version": {measured + strings.Replace(edk2Pin, `"2025.02"`, `"202502"`, 1),
			`toolchain.yaml:21:14: firmware.edk2.version: "202502" is not an edk2 stable release: write YEAR.MONTH of its tag, e.g. "2025.02" for edk2-stable202502`},
		"stale url": {measured + strings.Replace(edk2Pin, `"2025.02"`, `"2025.05"`, 1),
			`toolchain.yaml:22:10: firmware.edk2.url does not mention version 2025.05 (or edk2-stable202505): update url and sha256 together with firmware.edk2.version`},
		"sha256": {measured + strings.Replace(edk2Pin, "b63b6053", "B63B6053", 1), `toolchain.yaml:23:13: firmware.edk2.sha256: `},
		"feed":   {measured + strings.Replace(edk2Pin, "feed: edk2", "feed: kernel", 1), `toolchain.yaml:27:11: firmware.edk2.feed: unknown feed "kernel": edk2 is checked against its stable releases, write feed: edk2`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("toolchain.yaml", []byte(c.src))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestParseMeasure(t *testing.T) {
	src := withMeasure(t, "{vcpus: [1, 4], snp_cpu_types: [EPYC-v4, EPYC-Genoa], snp_guest_features: [0x1, 0x21], tdx_page_orders: [per-page, two-pass]}")
	m, err := Parse("toolchain.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Targets[0].Measure
	want := &Measure{VCPUs: []int{1, 4}, SNPCPUTypes: []string{"EPYC-v4", "EPYC-Genoa"}, SNPGuestFeatures: []uint64{1, 0x21},
		TDXPageOrders: []string{"per-page", "two-pass"}, Line: 16, Column: 119}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("measure = %+v\nwant      %+v", got, want)
	}
	if tees := got.TEEs(); !reflect.DeepEqual(tees, []string{"snp", "tdx"}) {
		t.Errorf("TEEs() = %v", tees)
	}
	if m.Targets[1].Measure != nil {
		t.Errorf("a target without measure: has %+v", m.Targets[1].Measure)
	}
	tdxOnly, err := Parse("toolchain.yaml", []byte(withMeasure(t, "{tdx_page_orders: [per-page]}")))
	if err != nil {
		t.Fatal(err)
	}
	if tees := tdxOnly.Targets[0].Measure.TEEs(); !reflect.DeepEqual(tees, []string{"tdx"}) {
		t.Errorf("TDX alone: TEEs() = %v", tees)
	}
}

func TestParseMeasureErrors(t *testing.T) {
	for _, c := range []struct {
		name, block string
		want        []string
	}{
		{"nothing measured", "{}",
			[]string{`toolchain.yaml:16:119: targets[0].measure measures nothing: write snp_cpu_types and snp_guest_features (SEV-SNP), tdx_page_orders (TDX), or both`}},
		{"cpu types without features", "{vcpus: [1], snp_cpu_types: [EPYC-v4]}",
			[]string{`toolchain.yaml:16:147: targets[0].measure: snp_cpu_types without snp_guest_features: add the SEV_FEATURES the hosts' KVM sets, e.g. snp_guest_features: [0x1]`}},
		{"features without cpu types", "{vcpus: [1], snp_guest_features: [0x1]}",
			[]string{`toolchain.yaml:16:152: targets[0].measure: snp_guest_features without snp_cpu_types: add the QEMU -cpu models, e.g. snp_cpu_types: [EPYC-Genoa]`}},
		{"snp without vcpus", "{snp_cpu_types: [EPYC-v4], snp_guest_features: [0x1]}",
			[]string{`toolchain.yaml:16:119: targets[0].measure: SEV-SNP values depend on the vCPU count: add vcpus: [1, 2, 4] (Kata's default_vcpus)`}},
		{"vcpus for TDX alone", "{vcpus: [1], tdx_page_orders: [per-page]}",
			[]string{`toolchain.yaml:16:127: targets[0].measure.vcpus: only SEV-SNP values depend on the vCPU count, and this target measures TDX alone (MRTD is the same for every vCPU count): remove vcpus`}},
		{"unknown cpu type, case", "{vcpus: [1], snp_cpu_types: [epyc-genoa], snp_guest_features: [0x1]}",
			[]string{`toolchain.yaml:16:148: targets[0].measure.snp_cpu_types: unknown QEMU -cpu model "epyc-genoa": write it as EPYC-Genoa`}},
		{"unknown cpu type", "{vcpus: [1], snp_cpu_types: [EPYC-Genoaa], snp_guest_features: [0x1]}",
			[]string{`toolchain.yaml:16:148: targets[0].measure.snp_cpu_types: unknown QEMU -cpu model "EPYC-Genoaa": did you mean "EPYC-Genoa"?`}},
		{"features without SNPActive", "{vcpus: [1], snp_cpu_types: [EPYC-v4], snp_guest_features: [0x20]}",
			[]string{`toolchain.yaml:16:179: targets[0].measure.snp_guest_features: 0x20 does not set bit 0 (SNPActive), so it is not an SEV-SNP launch: write it with 0x1 set, e.g. 0x1 or 0x21`}},
		{"vcpus out of range and repeated", "{vcpus: [0, 2, 2], tdx_page_orders: [per-page], snp_cpu_types: [EPYC-v4], snp_guest_features: [0x1]}",
			[]string{
				`toolchain.yaml:16:128: targets[0].measure.vcpus: 0 vCPUs is out of range: write 1 to 4096`,
				`toolchain.yaml:16:134: targets[0].measure.vcpus lists 2 twice (first at line 16): remove one`,
			}},
		{"unknown page order", "{tdx_page_orders: [single-pass]}",
			[]string{`toolchain.yaml:16:138: targets[0].measure.tdx_page_orders: unknown page order "single-pass": use one of per-page, two-pass`}},
		{"vcpus as strings", `{vcpus: ["2"], tdx_page_orders: [per-page], snp_cpu_types: [EPYC-v4], snp_guest_features: [0x1]}`,
			[]string{`toolchain.yaml:16:128: targets[0].measure.vcpus[0] must be an integer, not "2"`}},
		{"unknown key", "{vcpu: [1], tdx_page_orders: [per-page]}",
			[]string{`toolchain.yaml:16:120: targets[0].measure: unknown key "vcpu": did you mean "vcpus"?`}},
		{"matrix too large", "{vcpus: [1, 2, 3, 4, 5, 6, 7, 8, 9], snp_cpu_types: [EPYC-v4, EPYC-Milan, EPYC-Genoa], snp_guest_features: [0x1, 0x21, 0x23]}",
			[]string{`toolchain.yaml:16:119: targets[0].measure asks for 81 measurements; the limit is 64: keep the vCPU counts, CPU types and guest features the supported hosts use`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("toolchain.yaml", []byte(withMeasure(t, c.block)))
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// An arch without SEV-SNP or TDX cannot carry their keys: the error names
// the platform and what the arch has.
func TestParseMeasureArchWithoutTEE(t *testing.T) {
	src := edit(t, `maintainers: ["@guestforge/arm"]}`, `maintainers: ["@guestforge/arm"], measure: {tdx_page_orders: [per-page]}}`) + edk2Pin
	_, err := Parse("toolchain.yaml", []byte(src))
	want := `toolchain.yaml:17:123: targets[1].measure: aarch64 has no tdx launch measurement here (its platforms: none): remove the tdx keys or measure an arch that has it`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
