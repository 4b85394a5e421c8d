package snpmeasure

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestCPUSignature(t *testing.T) {
	// The first two are sev-snp-measure's tests/test_vcpu_types.py; the
	// rest are the signatures of the named models, CPUID 1 EAX as the
	// processors report it.
	for _, tc := range []struct {
		name                    string
		family, model, stepping uint32
		want                    uint32
	}{
		{"family 14", 14, 1, 2, 0x0E12},
		{"family 23", 23, 1, 2, 0x800F12},
	} {
		if got := CPUSignature(tc.family, tc.model, tc.stepping); got != tc.want {
			t.Errorf("%s: CPUSignature = %#x, want %#x", tc.name, got, tc.want)
		}
	}
	for name, want := range map[string]uint32{
		"EPYC-v4":    0x800F12,
		"epyc-v4":    0x800F12,
		"EPYC-Rome":  0x830F10,
		"EPYC-Milan": 0xA00F11,
		"EPYC-Genoa": 0xA10F10,
		"EPYC-Turin": 0xB00F00,
	} {
		got, err := ParseCPUType(name)
		if err != nil || got != want {
			t.Errorf("ParseCPUType(%q) = %#x, %v; want %#x", name, got, err, want)
		}
	}
}

func TestParseCPUTypeSuggests(t *testing.T) {
	_, err := ParseCPUType("EPYC-Genao")
	if err == nil || !strings.Contains(err.Error(), "did you mean EPYC-Genoa?") {
		t.Errorf("got %v, want a suggestion of EPYC-Genoa", err)
	}
}

// The published vectors all use EPYC-v4. Another model changes exactly one
// thing, the CPUID signature in RDX of each VMSA, so this pins that the
// vector-checked VMSA differs from a Milan or Genoa one only there, and that
// the digest moves with it.
func TestCPUTypeChangesOnlyRDX(t *testing.T) {
	v4, _ := ParseCPUType("EPYC-v4")
	base := vmsaPage(bspEIP, 0x21, v4, QEMU)
	fw := firmware(t, amdSev)
	ref, err := SNP(Launch{Firmware: fw, VCPUs: 2, CPUSignature: v4, GuestFeatures: 0x21})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"EPYC-Milan", "EPYC-Genoa"} {
		sig, err := ParseCPUType(name)
		if err != nil {
			t.Fatal(err)
		}
		p := vmsaPage(bspEIP, 0x21, sig, QEMU)
		if got := binary.LittleEndian.Uint64(p[vmsaRDX:]); got != uint64(sig) {
			t.Errorf("%s: RDX = %#x, want %#x", name, got, sig)
		}
		if !bytes.Equal(p[:vmsaRDX], base[:vmsaRDX]) || !bytes.Equal(p[vmsaRDX+8:], base[vmsaRDX+8:]) {
			t.Errorf("%s: the VMSA differs from EPYC-v4's outside RDX", name)
		}
		d, err := SNP(Launch{Firmware: fw, VCPUs: 2, CPUSignature: sig, GuestFeatures: 0x21})
		if err != nil {
			t.Fatal(err)
		}
		if d == ref {
			t.Errorf("%s: same digest as EPYC-v4", name)
		}
	}
}

// EC2 and GCE set RDX themselves, so the CPU type must not change their digest.
func TestCloudVMMsIgnoreCPUType(t *testing.T) {
	fw := firmware(t, amdSev)
	for _, vmm := range []VMM{EC2, GCE} {
		a, err := SNP(Launch{Firmware: fw, VCPUs: 2, CPUSignature: 0x800F12, GuestFeatures: 1, VMM: vmm})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := SNP(Launch{Firmware: fw, VCPUs: 2, CPUSignature: 0xA10F10, GuestFeatures: 1, VMM: vmm})
		if a != b {
			t.Errorf("%s: the CPU signature changed the digest", vmm)
		}
	}
}

func TestParseVMM(t *testing.T) {
	for s, want := range map[string]VMM{"qemu": QEMU, "EC2": EC2, "gce": GCE} {
		if got, err := ParseVMM(s); err != nil || got != want {
			t.Errorf("ParseVMM(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseVMM("kvm"); err == nil || !strings.Contains(err.Error(), "qemu, ec2, gce") {
		t.Errorf("ParseVMM(kvm): %v", err)
	}
}
