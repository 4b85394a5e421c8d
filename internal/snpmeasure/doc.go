// Package snpmeasure computes the launch measurement an AMD SEV guest's
// firmware reports, from the files a VMM loads: the SEV-SNP launch digest
// (SHA-384, the MEASUREMENT of an attestation report), and the older SEV-ES
// and SEV launch digests (SHA-256).
//
// The measurement is a function of the OVMF image (every page of it, then the
// pages its SEV metadata describes), of the direct-boot inputs when the
// firmware carries the SEV hashes table (QEMU's kernel-hashes=on), and of the
// initial register state of every vCPU (one VMSA page each), which depends on
// the vCPU count, the CPU signature QEMU puts in RDX, the guest features and
// the VMM's own reset values. It follows AMD's SEV-SNP firmware ABI (pub.
// 56860, SNP_LAUNCH_UPDATE and the PAGE_INFO structure) and agrees bit for
// bit with virtee/sev-snp-measure's published vectors (snpmeasure_test.go).
//
// Nothing here runs a VM or reads the clock: the same inputs give the same
// digest on any machine, which is what makes it a reference value.
package snpmeasure
