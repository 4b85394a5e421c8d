package snpmeasure

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The expected values are virtee/sev-snp-measure's published vectors
// (tests/test_guest.py at 8f2b337e, named after its test functions), over
// the two edk2-stable202405 firmware suffixes in testdata (README.md there).
// Its kernel and initrd are /dev/null, so "empty" below means zero-byte
// files; c7 is its command line "console=ttyS0 loglevel=7".

const c7 = "console=ttyS0 loglevel=7"

func firmware(t testing.TB, name string) *Firmware {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFirmware(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func emptyBoot(cmdline string) *DirectBoot { return NewDirectBoot(nil, nil, cmdline) }

func mustHex48(t *testing.T, s string) *[48]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 48 {
		t.Fatalf("bad seed %q", s)
	}
	var a [48]byte
	copy(a[:], b)
	return &a
}

const (
	amdSev  = "ovmf_AmdSev_suffix.bin"
	ovmfX64 = "ovmf_OvmfX64_suffix.bin"
	epycV4  = "EPYC-v4"
	// ovmfHashAmdSev is test_snp_ovmf_hash_full_default's OVMF hash.
	ovmfHashAmdSev = "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"
)

func TestSNPVectors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fw       string
		boot     *DirectBoot
		vcpus    int
		cpu      string // "" for GCE, which passes no signature
		features uint64
		vmm      VMM
		seed     string
		want     string
	}{
		{"test_snp_ovmf_hash_gen_default", amdSev, emptyBoot(""), 1, epycV4, 0x21, QEMU, ovmfHashAmdSev,
			"329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198"},
		{"test_snp_ovmf_hash_gen_feature_snp_only", amdSev, emptyBoot(""), 1, epycV4, 0x1, QEMU, ovmfHashAmdSev,
			"ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5"},
		{"test_snp_ovmf_hash_full_default", amdSev, emptyBoot(c7), 1, epycV4, 0x21, QEMU, ovmfHashAmdSev,
			"803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
		{"test_snp_ovmf_hash_full_feature_snp_only", amdSev, emptyBoot(c7), 1, epycV4, 0x1, QEMU, ovmfHashAmdSev,
			"6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
		{"test_snp_default", amdSev, emptyBoot(c7), 1, epycV4, 0x21, QEMU, "",
			"803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
		{"test_snp_guest_feature_snp_only", amdSev, emptyBoot(c7), 1, epycV4, 0x1, QEMU, "",
			"6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
		{"test_snp_without_kernel_default", amdSev, nil, 1, epycV4, 0x21, QEMU, "",
			"e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
		{"test_snp_without_kernel_feature_snp_only", amdSev, nil, 1, epycV4, 0x1, QEMU, "",
			"19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
		{"test_snp_with_multiple_vcpus_default", amdSev, emptyBoot(""), 4, epycV4, 0x21, QEMU, "",
			"4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
		{"test_snp_with_multiple_vcpus_feature_snp_only", amdSev, emptyBoot(""), 4, epycV4, 0x1, QEMU, "",
			"5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
		{"test_snp_with_ovmfx64_without_default", ovmfX64, nil, 1, epycV4, 0x21, QEMU, "",
			"28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"},
		{"test_snp_with_ovmfx64_without_kernel_feature_snp_only", ovmfX64, nil, 1, epycV4, 0x1, QEMU, "",
			"da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
		{"test_snp_ec2_default", amdSev, emptyBoot(""), 1, epycV4, 0x21, EC2, "",
			"0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
		{"test_snp_ec2_feature_snp_only", amdSev, emptyBoot(""), 1, epycV4, 0x1, EC2, "",
			"0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"},
		{"test_snp_gce_default", amdSev, emptyBoot(""), 1, "", 0x1, GCE, "",
			"5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"},
		{"test_snp_gce_with_multiple_vcpus_default", amdSev, emptyBoot(""), 4, "", 0x1, GCE, "",
			"5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Launch{Firmware: firmware(t, tc.fw), Boot: tc.boot, VCPUs: tc.vcpus,
				GuestFeatures: tc.features, VMM: tc.vmm}
			if tc.cpu != "" {
				sig, err := ParseCPUType(tc.cpu)
				if err != nil {
					t.Fatal(err)
				}
				l.CPUSignature = sig
			}
			if tc.seed != "" {
				l.OVMFHash = mustHex48(t, tc.seed)
			}
			got, err := SNP(l)
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got[:]); h != tc.want {
				t.Errorf("launch digest\n got %s\nwant %s", h, tc.want)
			}
		})
	}
}

func TestOVMFHash(t *testing.T) {
	got := OVMFHash(firmware(t, amdSev))
	if h := hex.EncodeToString(got[:]); h != ovmfHashAmdSev {
		t.Errorf("OVMF hash\n got %s\nwant %s", h, ovmfHashAmdSev)
	}
}

func TestSEVESVectors(t *testing.T) {
	sig, err := ParseCPUType(epycV4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		vcpus    int
		features uint64 // ignored by SEV-ES: the two vectors pass 0x1 and 0x21
		want     string
	}{
		{"test_seves", 1, 0x1, "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
		{"test_seves_with_multiple_vcpus", 4, 0x21, "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SEVES(Launch{Firmware: firmware(t, amdSev), Boot: emptyBoot(""), VCPUs: tc.vcpus,
				CPUSignature: sig, GuestFeatures: tc.features})
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got[:]); h != tc.want {
				t.Errorf("launch digest\n got %s\nwant %s", h, tc.want)
			}
		})
	}
}

func TestSEVVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fw   string
		boot *DirectBoot
		want string
	}{
		{"test_sev", amdSev, emptyBoot(c7), "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
		{"test_sev_with_kernel_without_initrd_and_append", amdSev, emptyBoot(""),
			"77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
		{"test_sev_with_ovmfx64_without_kernel", ovmfX64, nil,
			"b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SEV(firmware(t, tc.fw), tc.boot)
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got[:]); h != tc.want {
				t.Errorf("launch digest\n got %s\nwant %s", h, tc.want)
			}
		})
	}
}

// test_snp_with_ovmfx64_and_kernel_should_fail and its SEV and SEV-ES
// siblings: a kernel with a firmware that cannot measure one is an error,
// not a digest that would never match.
func TestKernelWithoutHashTableFails(t *testing.T) {
	fw := firmware(t, ovmfX64)
	l := Launch{Firmware: fw, Boot: emptyBoot(""), VCPUs: 1, GuestFeatures: 0x21}
	if _, err := SNP(l); !errors.Is(err, ErrNoKernelHashes) {
		t.Errorf("SNP: got %v, want ErrNoKernelHashes", err)
	}
	if _, err := SEVES(l); !errors.Is(err, ErrNoKernelHashes) {
		t.Errorf("SEV-ES: got %v, want ErrNoKernelHashes", err)
	}
	if _, err := SEV(fw, l.Boot); !errors.Is(err, ErrNoKernelHashes) {
		t.Errorf("SEV: got %v, want ErrNoKernelHashes", err)
	}
}
