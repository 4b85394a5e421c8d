// Package tdxmeasure computes the Intel TDX measurement registers a TD
// reports, from the files the VMM loads: MRTD, which the TDX module builds
// while the VMM adds the TDVF (edk2's TDX firmware) to the TD before it runs,
// and the runtime registers TDVF extends in a QEMU direct kernel boot.
//
// MRTD depends on the firmware image alone: its TDX metadata (the TDVF
// descriptor) lists the sections the VMM adds with TDH.MEM.PAGE.ADD and the
// ones whose bytes it also extends with TDH.MR.EXTEND. The order of those
// calls is the VMM's and the host kernel's, so it is an input (PageOrder).
//
// RTMR[1] and RTMR[2] come from a QEMU direct boot (DirectBoot): TDVF
// extends the kernel's Authenticode digest and its boot events, and the
// kernel's EFI stub extends the command line and the initrd. The event list
// is derived from the edk2 2025.02 and Linux 6.12 sources
// (DirectBootEvents); RTMR[0] depends on QEMU's ACPI tables and the memory
// map and is not computed.
//
// Nothing here runs a VM or reads the clock: the same inputs give the same
// value on any machine, which is what makes it a reference value.
package tdxmeasure
