// Package rootfs finishes an image's root filesystem: it reads mmdebstrap's raw
// tarball onto the one tree type (internal/fstree's records, the tree the initrd is
// made of too), drops
// the per-build state and the image's delete: paths, lays the overlay and Kata's
// guest conventions over it (the agent at /usr/bin/kata-agent, kata-agent.service,
// kata-containers.target, /sbin/init -> the agent, wired by initrd.ApplyInit, so an
// image's initrd and disk image boot the same way) and writes it as a normalised
// tarball. It is pure: the inputs are a tarball, host paths and plain values, and
// internal/build runs it on the client between mmdebstrap and the disk image.
//
// Normalisation (docs/architecture.md, "Reproducibility"): entries in path order
// (ComparePaths), every mtime the epoch, uid/gid as dpkg left them, no user or
// group names, no access or change times, hardlinks kept, extended attributes kept
// except the build host's SELinux labels.
package rootfs
