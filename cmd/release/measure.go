package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

func init() { rootCmd.AddCommand(newMeasureCmd()) }

func newMeasureCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "measure",
		Short: "Compute the launch measurement a confidential guest's attestation report will carry",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMeasureSNPCmd(), newMeasureTDXCmd())
	return cmd
}

func newMeasureSNPCmd() *cobra.Command {
	var in snpmeasure.Files
	var features string
	cmd := &cobra.Command{
		Use:   "snp --ovmf F [--kernel K [--initrd I] [--append S]] --vcpus N --vcpu-type T",
		Short: "Print the SEV-SNP launch digest (hex SHA-384) of an OVMF + direct-boot launch",
		Long: `Computes what the AMD PSP measures when QEMU (or EC2, GCE) launches an SEV-SNP guest:
the OVMF pages, its SEV metadata sections, the SEV hashes table of the kernel, initrd
and command line (QEMU's kernel-hashes=on, which Kata sets), and one VMSA per vCPU.
It agrees with virtee/sev-snp-measure --mode snp on the same inputs (docs/reference-values.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := strconv.ParseUint(features, 0, 64)
			if err != nil {
				return badInput(fmt.Errorf("--guest-features %q is not a number: pass it as 0x21 or 33", features))
			}
			in.GuestFeatures = f
			digest, err := snpmeasure.SNPFiles(in)
			if err != nil {
				return badInput(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), digest)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.OVMF, "ovmf", "", "the OVMF image (OvmfPkg/AmdSev build for measured direct boot)")
	fl.StringVar(&in.Kernel, "kernel", "", "the kernel QEMU boots directly (-kernel)")
	fl.StringVar(&in.Initrd, "initrd", "", "the initrd (-initrd); needs --kernel")
	fl.StringVar(&in.Append, "append", "", "the kernel command line exactly as passed to -append; needs --kernel")
	fl.IntVar(&in.VCPUs, "vcpus", 0, "vCPUs at launch (Kata: default_vcpus)")
	fl.StringVar(&in.VCPUType, "vcpu-type", "", "QEMU -cpu model: EPYC-v4, EPYC-Milan, EPYC-Genoa, ... (ignored for ec2 and gce)")
	fl.StringVar(&features, "guest-features", "0x1", "SEV_FEATURES: 0x1 SNPActive; 0x21 adds DebugSwap, which KVM on Linux 6.6+ sets")
	fl.StringVar(&in.VMM, "vmm-type", "qemu", "qemu, ec2 or gce")
	_ = cmd.MarkFlagRequired("ovmf")
	_ = cmd.MarkFlagRequired("vcpus")
	return cmd
}

const measureTDXLong = `Computes what the TDX module holds in MRTD when QEMU launches a TD from this TDVF:
every section of the firmware's TDX metadata added page by page (TDH.MEM.PAGE.ADD), and the
bytes of the sections marked MR_EXTEND extended 256 bytes at a time (TDH.MR.EXTEND).
MRTD does not depend on the vCPU count, the memory size or the kernel. It does depend on the
order the host adds pages in: per-page is upstream KVM (Linux 6.16+) with QEMU 10.1+.

With --ovmf alone it prints MRTD in lowercase hex on one line. With --kernel (and --append,
and --initrd if QEMU gets one) it also computes RTMR[1] (the kernel's Authenticode SHA-384 and
TDVF's boot events) and RTMR[2] (the command line and the initrd, measured by the kernel's EFI
stub), for QEMU 10.1+ direct boot (-kernel, -initrd, -append) with edk2 2025.02's IntelTdx
TDVF, and prints one "name value" line each:

  mrtd <hex>
  rtmr1 <hex>
  rtmr2 <hex>

RTMR[0] is not computed (docs/reference-values.md, TDX).`

func newMeasureTDXCmd() *cobra.Command {
	var in tdxmeasure.Files
	cmd := &cobra.Command{
		Use:   "tdx --ovmf F [--page-order per-page|two-pass] [--kernel K [--initrd I] --append S]",
		Short: "Print the Intel TDX MRTD of a TDVF image, and RTMR[1] and RTMR[2] of a direct kernel boot",
		Long:  measureTDXLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.AppendSet = cmd.Flags().Changed("append")
			return printTDX(cmd, in)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.OVMF, "ovmf", "", "the TDVF image (edk2 OvmfPkg/IntelTdx/IntelTdxX64.dsc, or an OvmfPkgX64.dsc build with TDX metadata)")
	fl.StringVar(&in.PageOrder, "page-order", "per-page", "how the host adds pages: per-page (upstream KVM, Linux 6.16+) or two-pass (older out-of-tree TDX hosts)")
	fl.StringVar(&in.Kernel, "kernel", "", "the EFI-stub bzImage QEMU boots directly (-kernel); gives RTMR[1]")
	fl.StringVar(&in.Initrd, "initrd", "", "the initrd (-initrd); needs --kernel; goes into RTMR[2]")
	fl.StringVar(&in.Append, "append", "", "the kernel command line exactly as passed to -append (\"\" for none); needs --kernel; goes into RTMR[2]")
	_ = cmd.MarkFlagRequired("ovmf")
	return cmd
}

// printTDX prints MRTD alone (the one-line form scripts already read) or, for a
// direct boot, one "name value" line per register.
func printTDX(cmd *cobra.Command, in tdxmeasure.Files) error {
	v, err := tdxmeasure.MeasureFiles(in)
	if err != nil {
		return badInput(err)
	}
	w := cmd.OutOrStdout()
	if v.RTMRs == nil {
		fmt.Fprintln(w, v.MRTD)
		return nil
	}
	fmt.Fprintf(w, "mrtd %s\nrtmr1 %s\nrtmr2 %s\n", v.MRTD, v.RTMRs.RTMR1, v.RTMRs.RTMR2)
	return nil
}
