package snpmeasure

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSNPFiles runs two published vectors through the file-reading entry
// point the CLI calls: empty files stand in for sev-snp-measure's /dev/null
// (which is not a regular file, so it is refused here).
func TestSNPFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ovmf := filepath.Join("testdata", amdSev)
	for _, tc := range []struct {
		name string
		in   Files
		want string
	}{
		{"test_snp_default", Files{OVMF: ovmf, Kernel: empty, Initrd: empty, Append: c7, VCPUs: 1,
			VCPUType: "EPYC-v4", GuestFeatures: 0x21},
			"803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
		{"test_snp_with_multiple_vcpus_feature_snp_only, no initrd file", Files{OVMF: ovmf, Kernel: empty,
			VCPUs: 4, VCPUType: "epyc-v4", GuestFeatures: 0x1, VMM: "qemu"},
			"5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
		{"test_snp_without_kernel_default", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 0x21},
			"e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
		{"test_snp_ec2_default", Files{OVMF: ovmf, Kernel: empty, Initrd: empty, VCPUs: 1, GuestFeatures: 0x21, VMM: "ec2"},
			"0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SNPFiles(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSNPFilesRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ovmf := filepath.Join("testdata", amdSev)
	x64 := filepath.Join("testdata", ovmfX64)
	for _, tc := range []struct {
		name string
		in   Files
		want string
	}{
		{"no vCPU type for qemu", Files{OVMF: ovmf, VCPUs: 1}, "no vCPU type"},
		{"unknown vCPU type", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC-Milam"}, "did you mean EPYC-Milan?"},
		{"unknown VMM", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC", VMM: "xen"}, `unknown VMM type "xen"`},
		{"append without kernel", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC", Append: "quiet"}, "pass --kernel too"},
		{"initrd without kernel", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC", Initrd: empty}, "pass --kernel too"},
		{"missing firmware", Files{OVMF: filepath.Join(dir, "nope"), VCPUs: 1, VCPUType: "EPYC"}, "no such file"},
		{"device as kernel", Files{OVMF: ovmf, VCPUs: 1, VCPUType: "EPYC", Kernel: "/dev/null"}, "not a regular file"},
		{"firmware is not OVMF", Files{OVMF: empty, VCPUs: 1, VCPUType: "EPYC"}, empty + ": OVMF image: the file is empty"},
		{"kernel with OvmfX64", Files{OVMF: x64, VCPUs: 1, VCPUType: "EPYC", Kernel: empty}, "no place for the SEV hashes table"},
		{"zero vCPUs", Files{OVMF: ovmf, VCPUType: "EPYC"}, "0 vCPUs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SNPFiles(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
