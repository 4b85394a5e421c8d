package refvals

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

const rvFile = "x86_64/reference-values-confidential.json"

// kataConfidentialInitrd is the command line docs/kata.md gives a Kata
// x86_64 initrd guest, with confidential_guest on: no nr_cpus.
const kataConfidentialInitrd = "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 " +
	"i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 pci=lastbus=0 " +
	"console=hvc0 console=hvc1 quiet panic=1 selinux=0 scsi_mod.scan=none"

var x86 = arch.MustParse("x86_64")

func spec() Spec {
	return Spec{Arch: x86, Variant: "confidential", Kernel: disttest.BootImage(x86), Images: []string{"systemd", "default"},
		Matrix: Matrix{VCPUs: []int{1, 2}, SNPCPUTypes: []string{"EPYC-v4", "EPYC-Genoa"}, SNPGuestFeatures: []uint64{0x1},
			TDXPageOrders: []string{"per-page"}}}
}

// tree is a disttest release tree with the fixture firmware.
func tree(t *testing.T) *dist.Tree {
	t.Helper()
	root := disttest.Build(t, t.TempDir())
	disttest.AddFirmware(t, root)
	return open(t, root)
}

func open(t *testing.T, root string) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func write(t *testing.T, tr *dist.Tree) *dist.Tree {
	t.Helper()
	written, err := Write(tr, []Spec{spec()})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 1 || written[0] != rvFile {
		t.Fatalf("wrote %v, want [%s]", written, rvFile)
	}
	return open(t, tr.Root)
}

// Every value of the file is what the release's files give: the digests are
// SHA256SUMS', the command line is docs/kata.md's, MRTD is the TDVF vector,
// and each SEV-SNP value is the one `release measure snp` computes from the
// same files on its own.
func TestGenerateFromTree(t *testing.T) {
	tr := tree(t)
	d, err := Generate(tr, spec())
	if err != nil {
		t.Fatal(err)
	}
	if d.Release != disttest.Version || d.Target != (Target{"x86_64", "confidential"}) || d.SchemaVersion != 2 || d.MediaType != MediaType {
		t.Errorf("header %+v", d)
	}
	fileSum := func(rel string) string {
		s, err := sums.File(tr.Path(rel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if d.Kernel.Name != filepath.Base(disttest.BootImage(x86)) || d.Kernel.SHA256 != fileSum(disttest.BootImage(x86)) || d.Kernel.Size != 1792 {
		t.Errorf("kernel %+v", d.Kernel)
	}
	if len(d.Firmware) != 2 || d.Firmware[0].TEE != "snp" || d.Firmware[1].TEE != "tdx" ||
		d.Firmware[0].Name != "ovmf-amdsev.fd" || d.Firmware[0].SHA256 != "8f765dfabc127fc0a938a0744a3103ec15864d7d794eb4c398aa976b6d6ab16c" ||
		d.Firmware[0].SNPOVMFHash != vecOVMFHash || d.Firmware[0].Edk2Platform != "OvmfPkg/AmdSev/AmdSevX64.dsc" ||
		d.Firmware[1].Name != "ovmf-inteltdx.fd" || d.Firmware[1].SHA256 != "5b69d9da0494b3678b8175b64b1e8d3a60a3585fbd342f2ddb6a1438f3daa773" ||
		d.Firmware[1].SNPOVMFHash != "" || d.Firmware[1].Edk2Platform != "OvmfPkg/IntelTdx/IntelTdxX64.dsc" {
		t.Errorf("firmware %+v", d.Firmware)
	}
	if len(d.Launches) != 2 || d.Launches[0].Image != "default" || d.Launches[1].Image != "systemd" {
		t.Fatalf("launches %+v", d.Launches)
	}
	for _, l := range d.Launches {
		initrd := "x86_64/initrd-" + l.Image + ".img"
		if l.Boot != "initrd" || l.Initrd.Name != filepath.Base(initrd) || l.Initrd.SHA256 != fileSum(initrd) {
			t.Errorf("%s: launch %+v", l.Image, l)
		}
		if l.Cmdline != kataConfidentialInitrd {
			t.Errorf("%s: command line\n got %q\nwant %q", l.Image, l.Cmdline, kataConfidentialInitrd)
		}
		tdx, err := tdxmeasure.MeasureFiles(tdxmeasure.Files{OVMF: tr.Path("x86_64/ovmf-inteltdx.fd"), Kernel: tr.Path(disttest.BootImage(x86)),
			Initrd: tr.Path(initrd), Append: kataConfidentialInitrd, AppendSet: true})
		if err != nil {
			t.Fatal(err)
		}
		if tdx.MRTD != vecMRTDPerPage || tdx.RTMRs.RTMR1 != vecRTMR1 {
			t.Fatalf("release measure tdx gives %+v, want the vectors' MRTD and RTMR[1]", tdx)
		}
		if want := (TDXValue{"per-page", tdx.MRTD, tdx.RTMRs.RTMR1, tdx.RTMRs.RTMR2, TDXAssumptions("per-page")}); len(l.TDX) != 1 || l.TDX[0] != want {
			t.Errorf("%s: TDX %+v, release measure tdx gives %+v", l.Image, l.TDX, want)
		}
		if len(l.SNP) != 4 {
			t.Fatalf("%s: %d SEV-SNP values, want 2 vCPU counts × 2 CPU types", l.Image, len(l.SNP))
		}
		seen := map[string]bool{}
		for i, v := range l.SNP {
			want, err := snpmeasure.SNPFiles(snpmeasure.Files{OVMF: tr.Path("x86_64/ovmf-amdsev.fd"), Kernel: tr.Path(disttest.BootImage(x86)),
				Initrd: tr.Path(initrd), Append: kataConfidentialInitrd, VCPUs: v.VCPUs, VCPUType: v.CPUType, GuestFeatures: 0x1})
			if err != nil {
				t.Fatal(err)
			}
			if v.Measurement != want || v.GuestFeatures != "0x1" || v.VMM != "qemu" {
				t.Errorf("%s: snp[%d] %+v, release measure snp gives %s", l.Image, i, v, want)
			}
			seen[v.Measurement] = true
		}
		if len(seen) != 4 {
			t.Errorf("%s: the 4 points share values: %+v", l.Image, l.SNP)
		}
		if l.SNP[0].VCPUs != 1 || l.SNP[0].CPUType != "EPYC-Genoa" || l.SNP[3].VCPUs != 2 || l.SNP[3].CPUType != "EPYC-v4" {
			t.Errorf("%s: not sorted by vCPUs, then CPU type: %+v", l.Image, l.SNP)
		}
	}
	if d.Launches[0].SNP[0].Measurement == d.Launches[1].SNP[0].Measurement {
		t.Error("two initrds give one launch digest")
	}
	if d.Launches[0].TDX[0].RTMR2 == d.Launches[1].TDX[0].RTMR2 {
		t.Error("two initrds give one RTMR[2]")
	}
}

// Two generations from two separately built trees are byte-identical, and
// equal to the committed file: the schema's bytes do not drift.
func TestWriteIsByteIdentical(t *testing.T) {
	a := write(t, tree(t))
	b := write(t, tree(t))
	ba, err := os.ReadFile(a.Path(rvFile))
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b.Path(rvFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba, bb) {
		t.Fatalf("two generations differ:\n%s\n---\n%s", ba, bb)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "reference-values-confidential.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba, golden) {
		t.Errorf("the file is not testdata/reference-values-confidential.json byte for byte:\n%s", ba)
	}
	if !bytes.HasSuffix(ba, []byte("}\n")) || bytes.Contains(ba, []byte("\t")) || bytes.Contains(ba, []byte(a.Root)) {
		t.Error("not the fixed form: two-space indent, one final newline, no path of the machine")
	}
}

// A failing spec writes nothing, and the error says which file to provide.
func TestWriteWithoutFirmwareWritesNothing(t *testing.T) {
	tr := open(t, disttest.Build(t, t.TempDir()))
	_, err := Write(tr, []Spec{spec()})
	want := "reference values of x86_64/confidential: x86_64/ovmf-amdsev.fd is missing: snp values are computed from the firmware the guest boots; build edk2's OvmfPkg/AmdSev/AmdSevX64.dsc and place it there before attest, or drop snp from the target's measure: in toolchain.yaml"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if tr = open(t, tr.Root); tr.Has(rvFile) {
		t.Error("a failed write left a file")
	}
	// The stock OvmfPkgX64 build has no SEV hashes table: no measured direct boot.
	stock, err := os.ReadFile("../../snpmeasure/testdata/ovmf_OvmfX64_suffix.bin")
	if err != nil {
		t.Fatal(err)
	}
	disttest.AddFirmware(t, tr.Root)
	if err := os.WriteFile(tr.Path("x86_64/ovmf-amdsev.fd"), stock, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Write(open(t, tr.Root), []Spec{spec()})
	if !errors.Is(err, snpmeasure.ErrNoKernelHashes) || !strings.Contains(err.Error(), "x86_64/ovmf-amdsev.fd") {
		t.Errorf("a firmware without the hashes table: %v", err)
	}
}

func TestVerifyAcceptsWhatWriteWrote(t *testing.T) {
	tr := write(t, tree(t))
	checked, err := Verify(tr)
	if err != nil || len(checked) != 1 || checked[0] != rvFile {
		t.Fatalf("Verify = %v, %v", checked, err)
	}
}

// Each tampering is named: the file, the target, and the first value that
// differs. A changed kernel or initrd also moves the launch digests, so the
// recorded ones are not this release's; MRTD stays (the firmware's alone).
func TestVerifyNamesTheFirstDifference(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, tr *dist.Tree)
		field  string
		moved  func(before, after *Document) bool
	}{
		{"kernel", func(t *testing.T, tr *dist.Tree) { flipByte(t, tr.Path(disttest.BootImage(x86))) },
			"kernel.sha256", func(b, a *Document) bool {
				return allSNPMoved(b, a) && a.Launches[0].TDX[0].RTMR1 != b.Launches[0].TDX[0].RTMR1 &&
					a.Launches[0].TDX[0].RTMR2 == b.Launches[0].TDX[0].RTMR2
			}},
		{"initrd", func(t *testing.T, tr *dist.Tree) { flipByte(t, tr.Path("x86_64/initrd-default.img")) },
			"launches[image=default].initrd.sha256", func(b, a *Document) bool {
				return a.Launches[0].SNP[0].Measurement != b.Launches[0].SNP[0].Measurement &&
					a.Launches[1].SNP[0].Measurement == b.Launches[1].SNP[0].Measurement &&
					a.Launches[0].TDX[0].RTMR2 != b.Launches[0].TDX[0].RTMR2 && a.Launches[0].TDX[0].RTMR1 == b.Launches[0].TDX[0].RTMR1 &&
					a.Launches[1].TDX[0].RTMR2 == b.Launches[1].TDX[0].RTMR2
			}},
		{"one command line byte", func(t *testing.T, tr *dist.Tree) {
			edit(t, tr, `selinux=0 scsi_mod.scan=none"`, `selinux=1 scsi_mod.scan=none"`, 1)
		}, "launches[image=default].cmdline", nil},
		{"a measurement", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"measurement": "`, `"measurement": "0`, 1) },
			"launches[image=default].snp[vcpus=1,cpuType=EPYC-Genoa,guestFeatures=0x1,vmm=qemu].measurement", nil},
		{"the MRTD", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"mrtd": "2`, `"mrtd": "3`, 1) },
			"launches[image=default].tdx[pageOrder=per-page].mrtd", nil},
		{"an RTMR", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"rtmr2": "`, `"rtmr2": "0`, 1) },
			"launches[image=default].tdx[pageOrder=per-page].rtmr2", nil},
		{"the assumptions", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `QEMU >= 10.1`, `QEMU >= 9.2`, 1) },
			"launches[image=default].tdx[pageOrder=per-page].assumptions", nil},
		{"the Kata configuration", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"enable_debug": false`, `"enable_debug": true`, 1) },
			"launches[image=default].kata.enable_debug", nil},
		{"the release", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"release": "2026.1.0"`, `"release": "2026.2.0"`, 1) },
			"release", nil},
		{"the variant", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"variant": "confidential"`, `"variant": "default"`, 1) },
			"target.variant", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := write(t, tree(t))
			before, err := Generate(tr, spec())
			if err != nil {
				t.Fatal(err)
			}
			c.tamper(t, tr)
			_, err = Verify(tr)
			var m *Mismatch
			if !errors.As(err, &m) || m.Field != c.field || m.File != rvFile || m.Target != "x86_64/confidential" {
				t.Fatalf("got %v (%+v), want the field %s of %s", err, m, c.field, rvFile)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, rvFile+": target x86_64/confidential: "+c.field+" is ") {
				t.Errorf("message %q does not start with the file, the target and the field", msg)
			}
			if c.moved != nil {
				after, err := Generate(tr, spec())
				if err != nil {
					t.Fatal(err)
				}
				if !c.moved(before, after) {
					t.Errorf("the %s changed but the launch digests did not move as they should", c.name)
				}
				if after.Launches[0].TDX[0].MRTD != vecMRTDPerPage {
					t.Errorf("MRTD moved with the %s", c.name)
				}
			}
		})
	}
}

func allSNPMoved(before, after *Document) bool {
	for i, l := range after.Launches {
		for j, v := range l.SNP {
			if v.Measurement == before.Launches[i].SNP[j].Measurement {
				return false
			}
		}
	}
	return true
}

// A file that is not a whole matrix, not the schema, or not in attest's
// form fails with the file and the target named.
func TestVerifyRefusesDamagedFiles(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, tr *dist.Tree)
		want   string
	}{
		{"a point dropped", func(t *testing.T, tr *dist.Tree) {
			body := readRV(t, tr)
			i := bytes.Index(body, []byte(`        {
          "vcpus": 2,`))
			j := bytes.Index(body[i+1:], []byte("        },\n"))
			writeBody(t, tr, append(body[:i:i], body[i+1+j+len("        },\n"):]...))
		}, "launches[image=default] holds 3 SEV-SNP and 1 TDX values; the file's matrix (2 vCPU counts × 2 CPU types × 1 guest features, 1 page orders) has 4 and 1: a value was dropped or repeated"},
		{"an unknown field", func(t *testing.T, tr *dist.Tree) {
			edit(t, tr, `"schemaVersion": 2,`, `"schemaVersion": 2, "rtmr": "x",`, 1)
		},
			`not a reference-values document: json: unknown field "rtmr"`},
		{"another schema version", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"schemaVersion": 2,`, `"schemaVersion": 1,`, 1) },
			"schema version 1 (application/vnd.guestforge.reference-values.v2+json); this release tool reads version 2"},
		{"features spelled otherwise", func(t *testing.T, tr *dist.Tree) { edit(t, tr, `"guestFeatures": "0x1"`, `"guestFeatures": "0x01"`, 1) },
			`guestFeatures "0x01" is not SEV_FEATURES in hex (0x21)`},
		{"re-indented", func(t *testing.T, tr *dist.Tree) {
			writeBody(t, tr, bytes.ReplaceAll(readRV(t, tr), []byte("  "), []byte("\t")))
		}, "the values are right but the file is not in the form attest writes"},
		{"the kernel renamed", func(t *testing.T, tr *dist.Tree) {
			edit(t, tr, `"file": "vmlinuz-`, `"file": "vmlinux-`, 1)
		}, `kernel.file is "vmlinux-6.12.117-3f2a9c1d" in the file, but the release's kernel, initrd and firmware give a name of the form vmlinuz-<release>-<cfg>`},
		{"the firmware gone", func(t *testing.T, tr *dist.Tree) {
			if err := os.Remove(tr.Path("x86_64/ovmf-inteltdx.fd")); err != nil {
				t.Fatal(err)
			}
		}, "x86_64/ovmf-inteltdx.fd is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := write(t, tree(t))
			c.damage(t, tr)
			_, err := Verify(open(t, tr.Root))
			var m *Mismatch
			if !errors.As(err, &m) || !strings.HasPrefix(err.Error(), rvFile+": target x86_64/confidential: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s: target x86_64/confidential: ...%s...", err, rvFile, c.want)
			}
		})
	}
}

func readRV(t *testing.T, tr *dist.Tree) []byte {
	t.Helper()
	b, err := os.ReadFile(tr.Path(rvFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBody(t *testing.T, tr *dist.Tree, b []byte) {
	t.Helper()
	if err := os.WriteFile(tr.Path(rvFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces n occurrences of old in the file; the test fails if old is
// not there, so a case cannot pass by changing nothing.
func edit(t *testing.T, tr *dist.Tree, old, new string, n int) {
	t.Helper()
	b := readRV(t, tr)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("test bug: %q is not in %s", old, rvFile)
	}
	writeBody(t, tr, bytes.Replace(b, []byte(old), []byte(new), n))
}

// flipByte changes one bit in the middle of a file (releasetest.FlipByte,
// which this package's tests cannot import: releasetest imports refvals).
func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A kernel without the EFI stub (guestforge's default variant today) has no
// RTMR[1]: attest fails, names the kernel and says what to build, and
// writes nothing.
func TestWriteRefusesAKernelWithoutEFIStub(t *testing.T) {
	tr := tree(t)
	if err := os.WriteFile(tr.Path(disttest.BootImage(x86)), bytes.Repeat([]byte{0xff}, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(tr, []Spec{spec()})
	want := "reference values of x86_64/confidential: image default: TDX RTMRs of " + disttest.BootImage(x86) +
		": kernel: it has no EFI stub (no PE/COFF header)"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "CONFIG_EFI_STUB=y") {
		t.Fatalf("got %v\nwant %s…", err, want)
	}
	if open(t, tr.Root).Has(rvFile) {
		t.Error("a failed write left a file")
	}
}
