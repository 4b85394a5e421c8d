package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMeasure(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newMeasureCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return out.String() + msg, kconfigExitCode(err)
}

// sev-snp-measure's test_snp_default and test_snp_ec2_feature_snp_only
// through the CLI; internal/snpmeasure holds the whole vector table.
func TestMeasureSNP(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ovmf := "../../internal/snpmeasure/testdata/ovmf_AmdSev_suffix.bin"
	out, code := runMeasure(t, "snp", "--ovmf", ovmf, "--kernel", empty, "--initrd", empty,
		"--append", "console=ttyS0 loglevel=7", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "0x21")
	if want := "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977\n"; code != 0 || out != want {
		t.Errorf("exit %d, output %q; want %q", code, out, want)
	}
	out, code = runMeasure(t, "snp", "--ovmf", ovmf, "--kernel", empty, "--initrd", empty, "--vcpus", "1", "--vmm-type", "ec2")
	if want := "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056\n"; code != 0 || out != want {
		t.Errorf("ec2: exit %d, output %q; want %q", code, out, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vcpus", "1", "--vcpu-type", "EPYC-v4", "--guest-features", "DebugSwap"}, "pass it as 0x21"},
		{[]string{"--vcpus", "1", "--vcpu-type", "Genoa"}, "did you mean EPYC-Genoa?"},
		{[]string{"--vcpus", "1", "--vcpu-type", "EPYC-v4", "--append", "quiet"}, "pass --kernel too"},
		{[]string{"--vcpus", "1"}, "no vCPU type"},
	} {
		out, code := runMeasure(t, append([]string{"snp", "--ovmf", ovmf}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit 2 and %q", tc.args, code, out, tc.want)
		}
	}
}

// The synthetic TDVF's upstream-computed MRTDs through the CLI;
// internal/tdxmeasure holds the vectors and their provenance.
func TestMeasureTDX(t *testing.T) {
	ovmf := "../../internal/tdxmeasure/testdata/synthetic_tdvf.bin"
	kernel := "../../internal/authenticode/testdata/synthetic.efi"
	initrd := "../../internal/tdxmeasure/testdata/tiny_initrd"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65\n"},
		{[]string{"--page-order", "two-pass"}, "5e8cf02cadee8e922d0d01c38215fdaea117c8b4185da8320343eb61d372d4fcd45911a4d401c59fb662e81de6b32f60\n"},
		// The direct-boot vector of internal/tdxmeasure (vectors_test.go).
		{[]string{"--kernel", kernel, "--initrd", initrd, "--append", "console=hvc0 quiet"},
			"mrtd 205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65\n" +
				"rtmr1 000e131634f84c3262434701369c4b9953ed3e13070d564bd132219ff5e6cb5733552b6bb8de58e79a9a5922588fb629\n" +
				"rtmr2 9e4b6fbd00b145d84fcc7067afaca23eac19913be17a2a8b9c3dfaf556e3c683ad12e386f5a93327333e9b6fc20838fb\n"},
		// No -append and no -initrd: nothing reaches RTMR[2].
		{[]string{"--kernel", kernel, "--append", ""},
			"mrtd 205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65\n" +
				"rtmr1 000e131634f84c3262434701369c4b9953ed3e13070d564bd132219ff5e6cb5733552b6bb8de58e79a9a5922588fb629\n" +
				"rtmr2 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n"},
	} {
		out, code := runMeasure(t, append([]string{"tdx", "--ovmf", ovmf}, tc.args...)...)
		if code != 0 || out != tc.want {
			t.Errorf("%v: exit %d, output %q; want %q", tc.args, code, out, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ovmf", ovmf, "--kernel", kernel}, "--kernel needs --append"},
		{[]string{"--ovmf", ovmf, "--kernel", ovmf, "--append", ""}, "it has no EFI stub"},
		{[]string{"--ovmf", ovmf, "--append", "console=hvc0"}, "pass --kernel too"},
		{[]string{"--ovmf", ovmf, "--kernel", kernel, "--append", "quiet\u00e9"}, "must be ASCII"},
		{[]string{"--ovmf", ovmf, "--page-order", "batched"}, "pass per-page"},
		{[]string{"--ovmf", "../../internal/snpmeasure/testdata/ovmf_OvmfX64_suffix.bin"}, "but the image is only 4096 bytes"},
	} {
		out, code := runMeasure(t, append([]string{"tdx"}, tc.args...)...)
		if code != exitBadInput || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit 2 and %q", tc.args, code, out, tc.want)
		}
	}
}
