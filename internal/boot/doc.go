// Package boot boots a kernel and initrd under QEMU and waits for a marker
// line on the serial console. Every boot test and `release verify` go through
// Run, so the QEMU command line for each architecture lives in one place (and
// comes from internal/arch). It also builds the boot probe and caches the
// Debian rootfs fixtures the boot tests pack.
package boot
