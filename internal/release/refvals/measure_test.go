package refvals

import (
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// Published values the matrix must reproduce: virtee/sev-snp-measure's
// tests/test_guest.py (internal/snpmeasure's vectors, named after its test
// functions) over the edk2-stable202405 AmdSev suffix with empty kernel and
// initrd files, and the MRTDs of the synthetic TDVF that aleph-vm's and
// dstack-mr's walks give (internal/tdxmeasure/testdata/README.md).
const (
	// test_snp_ovmf_hash_gen_feature_snp_only: 1 vCPU, 0x1, command line "".
	vecSNP1x1 = "ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa3852819b5"
	// test_snp_ovmf_hash_gen_default: 1 vCPU, 0x21.
	vecSNP1x21 = "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198"
	// test_snp_with_multiple_vcpus_feature_snp_only: 4 vCPUs, 0x1.
	vecSNP4x1 = "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"
	// test_snp_with_multiple_vcpus_default: 4 vCPUs, 0x21.
	vecSNP4x21 = "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"
	// test_snp_default and test_snp_guest_feature_snp_only: 1 vCPU, command
	// line "console=ttyS0 loglevel=7", 0x21 and 0x1.
	vecSNPc7x21 = "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"
	vecSNPc7x1  = "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"
	// test_snp_ovmf_hash_full_default's OVMF hash of the AmdSev suffix.
	vecOVMFHash = "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"
	// The synthetic TDVF's MRTD, per-page and two-pass.
	vecMRTDPerPage = "205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65"
	vecMRTDTwoPass = "5e8cf02cadee8e922d0d01c38215fdaea117c8b4185da8320343eb61d372d4fcd45911a4d401c59fb662e81de6b32f60"
	// RTMR[1] and RTMR[2] of a direct boot of disttest.EFIKernelFixture with
	// internal/tdxmeasure/testdata/tiny_initrd and the command line
	// "console=hvc0 quiet" (internal/tdxmeasure's vectors, README there).
	vecRTMR1 = "000e131634f84c3262434701369c4b9953ed3e13070d564bd132219ff5e6cb5733552b6bb8de58e79a9a5922588fb629"
	vecRTMR2 = "9e4b6fbd00b145d84fcc7067afaca23eac19913be17a2a8b9c3dfaf556e3c683ad12e386f5a93327333e9b6fc20838fb"
	hvc0     = "console=hvc0 quiet"
	c7       = "console=ttyS0 loglevel=7"
)

func snpFirmware(t testing.TB) *snpmeasure.Firmware {
	t.Helper()
	data, err := os.ReadFile(disttest.SNPFirmwareFixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := snpmeasure.ParseFirmware(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// tdxBoot is the direct boot of the RTMR vectors.
func tdxBoot(t testing.TB) Inputs {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return Inputs{SNPFirmware: snpFirmware(t), TDXFirmware: tdxFirmware(t), Kernel: read(disttest.EFIKernelFixture),
		Initrd: read("../../tdxmeasure/testdata/tiny_initrd"), Cmdline: hvc0}
}

func tdxFirmware(t testing.TB) *tdxmeasure.Firmware {
	t.Helper()
	data, err := os.ReadFile(disttest.TDXFirmwareFixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tdxmeasure.ParseFirmware(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The matrix reproduces the published vectors at every point, sorted by
// vCPUs then guest features, and the TDX page orders sorted by name.
func TestMeasureReproducesVectors(t *testing.T) {
	// sev-snp-measure's vectors boot empty files, TDX needs an EFI kernel:
	// two launches.
	in := Inputs{SNPFirmware: snpFirmware(t)}
	m := Matrix{VCPUs: []int{4, 1}, SNPCPUTypes: []string{"EPYC-v4"}, SNPGuestFeatures: []uint64{0x21, 0x1}}
	snp, _, err := Measure(in, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []SNPValue{
		{1, "EPYC-v4", "0x1", "qemu", vecSNP1x1},
		{1, "EPYC-v4", "0x21", "qemu", vecSNP1x21},
		{4, "EPYC-v4", "0x1", "qemu", vecSNP4x1},
		{4, "EPYC-v4", "0x21", "qemu", vecSNP4x21},
	}
	if !reflect.DeepEqual(snp, want) {
		t.Errorf("SEV-SNP values\n got %+v\nwant %+v", snp, want)
	}
	_, tdx, err := Measure(tdxBoot(t), Matrix{TDXPageOrders: []string{"two-pass", "per-page"}})
	if err != nil {
		t.Fatal(err)
	}
	wantTDX := []TDXValue{
		{"per-page", vecMRTDPerPage, vecRTMR1, vecRTMR2, TDXAssumptions("per-page")},
		{"two-pass", vecMRTDTwoPass, vecRTMR1, vecRTMR2, TDXAssumptions("two-pass")},
	}
	if !reflect.DeepEqual(tdx, wantTDX) {
		t.Errorf("TDX values\n got %+v\nwant %+v", tdx, wantTDX)
	}

	in.Cmdline = c7
	snp, _, err = Measure(in, Matrix{VCPUs: []int{1}, SNPCPUTypes: []string{"EPYC-v4"}, SNPGuestFeatures: []uint64{0x1, 0x21}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snp) != 2 || snp[0].Measurement != vecSNPc7x1 || snp[1].Measurement != vecSNPc7x21 {
		t.Errorf("with the command line %q: %+v, want %s and %s", c7, snp, vecSNPc7x1, vecSNPc7x21)
	}
}

// One byte of the kernel, the initrd or the command line moves every SEV-SNP
// value; for TDX the kernel moves RTMR[1] alone, the initrd and the command
// line RTMR[2] alone, and none moves MRTD (the firmware's alone).
func TestMeasureOneByteMoves(t *testing.T) {
	base := tdxBoot(t)
	m := Matrix{VCPUs: []int{1}, SNPCPUTypes: []string{"EPYC-v4"}, SNPGuestFeatures: []uint64{0x21}, TDXPageOrders: []string{"per-page"}}
	snp0, _, err := Measure(base, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name         string
		edit         func(*Inputs)
		rtmr1, rtmr2 bool
	}{
		{"kernel", func(in *Inputs) { in.Kernel = slices.Clone(in.Kernel); in.Kernel[0x500] ^= 1 }, true, false},
		{"initrd", func(in *Inputs) { in.Initrd = append(slices.Clone(in.Initrd), 0) }, false, true},
		{"cmdline", func(in *Inputs) { in.Cmdline = "console=hvc0 quiet " }, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := base
			c.edit(&in)
			snp, tdx, err := Measure(in, m)
			if err != nil {
				t.Fatal(err)
			}
			if snp[0].Measurement == snp0[0].Measurement {
				t.Errorf("one byte of the %s left the launch digest at %s", c.name, snp0[0].Measurement)
			}
			if tdx[0].MRTD != vecMRTDPerPage {
				t.Errorf("the %s moved MRTD to %s: MRTD is the firmware's alone", c.name, tdx[0].MRTD)
			}
			if (tdx[0].RTMR1 != vecRTMR1) != c.rtmr1 || (tdx[0].RTMR2 != vecRTMR2) != c.rtmr2 {
				t.Errorf("the %s: RTMR1 %s, RTMR2 %s; want RTMR1 moved=%v, RTMR2 moved=%v", c.name, tdx[0].RTMR1, tdx[0].RTMR2, c.rtmr1, c.rtmr2)
			}
		})
	}
}

func TestMeasureRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Inputs
		m    Matrix
		want string
	}{
		{"empty matrix", Inputs{}, Matrix{}, "the matrix measures nothing: give SEV-SNP CPU types or TDX page orders"},
		{"cpu types alone", Inputs{}, Matrix{SNPCPUTypes: []string{"EPYC-v4"}}, "SEV-SNP values need vCPU counts and guest features as well as CPU types"},
		{"no SNP firmware", Inputs{}, Matrix{VCPUs: []int{1}, SNPCPUTypes: []string{"EPYC-v4"}, SNPGuestFeatures: []uint64{1}}, "SEV-SNP values need the OvmfPkg/AmdSev firmware"},
		{"no TDX firmware", Inputs{}, Matrix{TDXPageOrders: []string{"per-page"}}, "TDX values need the OvmfPkg/IntelTdx firmware"},
		{"no EFI stub", Inputs{TDXFirmware: tdxFirmware(t), Kernel: []byte("vmlinuz x86_64")}, Matrix{TDXPageOrders: []string{"per-page"}},
			"TDX RTMRs: kernel: it has no EFI stub (no PE/COFF header): OVMF would boot it with its legacy loader, which measures neither the kernel nor the command line; build it with CONFIG_EFI_STUB=y (the confidential kernel variant does) and pass that bzImage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := Measure(c.in, c.m); err == nil || err.Error() != c.want {
				t.Errorf("got %v, want %s", err, c.want)
			}
		})
	}
}
