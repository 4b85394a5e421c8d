// Command bootprobe stands in for the guest agent in boot tests and in
// `release verify`. As PID 1 (init mode agent) or as the agent's systemd unit
// (init mode systemd) it mounts /proc, /sys and /dev, prints
//
//	GUESTFORGE-BOOT-OK init=<mode> kernel=<uname -r> arch=<arch>
//
// to the console and powers the VM off. It is static (CGO_ENABLED=0) and has
// no dependencies beyond the kernel, so it runs in an otherwise empty initrd
// on every guestforge architecture.
package main
