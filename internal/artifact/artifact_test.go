package artifact

import (
	"slices"
	"testing"
)

func TestBuildersRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		kind Kind
		p    Parts
	}{
		{KernelName(KernelImage, "6.12.117", "3f2a9c1d0e4b"), KernelImage, Parts{Release: "6.12.117", ConfigID: "3f2a9c1d0e4b"}},
		{KernelName(Kernel, "6.13-rc1", "abc"), Kernel, Parts{Release: "6.13-rc1", ConfigID: "abc"}},
		{KernelName(KernelConfig, "6.12.117", "3f2a9c1d0e4b"), KernelConfig, Parts{Release: "6.12.117", ConfigID: "3f2a9c1d0e4b"}},
		{KernelName(SystemMap, "6.12.117", "3f2a9c1d0e4b"), SystemMap, Parts{Release: "6.12.117", ConfigID: "3f2a9c1d0e4b"}},
		{InitrdName("default"), Initrd, Parts{Image: "default"}},
		{RootfsImageName("systemd"), RootfsImage, Parts{Image: "systemd"}},
		{RootfsImageName("a.img"), RootfsImage, Parts{Image: "a.img"}},
		{VerityTreeName("default"), VerityTree, Parts{Image: "default"}},
		{VerityParamsName("default"), VerityParams, Parts{Image: "default"}},
		{VerityCmdlineName("debug-agent"), VerityCmdline, Parts{Image: "debug-agent"}},
		{RootHashName, RootHash, Parts{}},
		{ImageSBOMName("default"), ImageSBOM, Parts{Image: "default"}},
		{FirmwareName(FirmwareAmdSev), Firmware, Parts{Platform: FirmwareAmdSev}},
		{FirmwareName(FirmwareIntelTdx), Firmware, Parts{Platform: FirmwareIntelTdx}},
		{ReferenceValuesName("confidential"), ReferenceValues, Parts{Variant: "confidential"}},
		{ReferenceValuesName("nvidia-gpu_2"), ReferenceValues, Parts{Variant: "nvidia-gpu_2"}},
	} {
		k, p, ok := KindOf(c.name)
		if !ok || k != c.kind || p != c.p {
			t.Errorf("KindOf(%q) = %v %+v %v, want %v %+v", c.name, k, p, ok, c.kind, c.p)
			continue
		}
		if got := Name(k, p); got != c.name {
			t.Errorf("Name(%v, %+v) = %q, want %q", k, p, got, c.name)
		}
	}
}

// TestNames pins the spelling docs/architecture.md documents: these bytes are
// in every release.
func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		KernelName(KernelImage, "6.12.117", "aa"):  "vmlinuz-6.12.117-aa",
		KernelName(Kernel, "6.12.117", "aa"):       "vmlinux-6.12.117-aa",
		KernelName(KernelConfig, "6.12.117", "aa"): "config-6.12.117-aa",
		KernelName(SystemMap, "6.12.117", "aa"):    "System.map-6.12.117-aa",
		KernelName(Kernel, "6.12.117", "<cfg>"):    "vmlinux-6.12.117-<cfg>",
		InitrdName("default"):                      "initrd-default.img",
		RootfsImageName("default"):                 "rootfs-default.img",
		VerityTreeName("default"):                  "rootfs-default.img.verity",
		VerityParamsName("default"):                "verity-default.params",
		VerityCmdlineName("default"):               "verity-default.cmdline",
		ImageSBOMName("default"):                   "sbom-default.spdx.json",
		RootHashName:                               "root_hash.txt",
		FirmwareName(FirmwareAmdSev):               "ovmf-amdsev.fd",
		FirmwareName(FirmwareIntelTdx):             "ovmf-inteltdx.fd",
		ReferenceValuesName("confidential"):        "reference-values-confidential.json",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestKindOfRefuses(t *testing.T) {
	for _, name := range []string{
		"", "SHA256SUMS", "report.json", "report.html", "sbom.spdx.json", "provenance.intoto.jsonl",
		"rootfs-.img", "rootfs-.img.verity", "initrd-.img", "verity-.params", "verity-.cmdline", "sbom-.spdx.json",
		"vmlinux-", "vmlinuz-", "vmlinuz-6.12", "vmlinuz-6.12-", "vmlinuz--abc", "config-6.12.117-a.b", "configure",
		"vmlinuz-6.12.117-3f2a9c1d.sigstore.json", "rootfs-default.img.sigstore.json", "initrd-default.img.sigstore.json",
		"verity-default.params.sigstore.json", "root_hash.txt.sigstore.json", "sbom-default.spdx.json.sigstore.json",
		"rootfs-default.tar", "rootfs-default.img.bak", "root_hash_base.txt", "root_hash.txtx",
		"x86_64/initrd-default.img", "vmlinux.container", "kata-containers.img",
		"ovmf-.fd", "ovmf-AmdSev.fd", "ovmf-amd.sev.fd", "ovmf-amdsev.fd.sigstore.json", "OVMF.fd", "ovmf-1x.fd",
		"reference-values-.json", "reference-values-x.spdx.json", "reference-values-confidential.json.sigstore.json",
		"reference-values.json", "reference-values-Confidential.json", "reference-values-a/b.json",
	} {
		if k, p, ok := KindOf(name); ok {
			t.Errorf("KindOf(%q) = %v %+v, want refused", name, k, p)
		}
	}
}

func TestKinds(t *testing.T) {
	ks := Kinds()
	if len(ks) != 13 || slices.Contains(ks, Kind(0)) {
		t.Fatalf("Kinds() = %v", ks)
	}
	for _, k := range ks {
		if k.String() == "" || k.String()[0] == 'K' {
			t.Errorf("%d has no pattern: %q", int(k), k)
		}
		if k.IsKernel() != (k == KernelImage || k == Kernel || k == KernelConfig || k == SystemMap) {
			t.Errorf("%v.IsKernel() = %v", k, k.IsKernel())
		}
	}
	if got := Initrd.String(); got != "initrd-<image>.img" {
		t.Errorf("Initrd.String() = %q", got)
	}
	if got := Kernel.String(); got != "vmlinux-<release>-<cfg>" {
		t.Errorf("Kernel.String() = %q", got)
	}
	if got := Firmware.String(); got != "ovmf-<platform>.fd" {
		t.Errorf("Firmware.String() = %q", got)
	}
	if got := ReferenceValues.String(); got != "reference-values-<variant>.json" {
		t.Errorf("ReferenceValues.String() = %q", got)
	}
}

func TestKernelNamePanicsOnImageKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("KernelName(Initrd, ...) did not panic")
		}
	}()
	KernelName(Initrd, "6.12.117", "aa")
}

// FuzzKindOf holds the round trip for any name: whatever KindOf accepts, Name
// spells back byte for byte, so a reader and a producer can never disagree.
func FuzzKindOf(f *testing.F) {
	for _, s := range []string{"vmlinuz-6.12.117-3f2a9c1d", "vmlinux-6.13-rc1-abc", "rootfs-a.img.verity",
		"initrd-x.img", "verity-d.params", "root_hash.txt", "sbom-d.spdx.json", "rootfs-.img", "SHA256SUMS",
		"ovmf-amdsev.fd", "reference-values-confidential.json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		k, p, ok := KindOf(name)
		if !ok {
			return
		}
		if got := Name(k, p); got != name {
			t.Fatalf("KindOf(%q) = %v %+v, which Name spells %q", name, k, p, got)
		}
	})
}
