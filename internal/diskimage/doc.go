// Package diskimage plans and writes the disk image layout Kata Containers boots a
// guest rootfs from, and reads such an image back to prove what it holds. It is pure:
// no Dagger, no external commands. The pipeline (internal/build) runs mkfs and
// veritysetup; this package decides what they are run with and reads what they
// print (ext4.go, veritysetup.go, ids.go: sizes, arguments, identifiers derived
// from content), and places the filesystem and the hash tree on the disk.
//
// What it reproduces from Kata's tools/osbuilder/image-builder/image_builder.sh,
// because Kata's runtime and the guest kernel are who read these bytes:
//
//   - an msdos (MBR) partition table whose partition 1 is the filesystem, starting
//     1 MiB after the table that describes it, type 0x83; the runtime passes
//     root=/dev/vda1 (virtio-blk) or root=/dev/pmem0p1 (nvdimm);
//   - for a measured rootfs, partition 2 holds the dm-verity hash tree with no
//     verity superblock (hash start block 0: the runtime's dm-mod.create table says
//     so), and partition 1 carries the boot flag, as Kata's `set 1 boot on`;
//   - unless SkipDAXHeader is set (Kata's SKIP_DAX_HEADER, default no), a 2 MiB
//     header in front: MBR #1 in sector 0 for readers of the whole disk
//     (virtio-blk), the nvdimm driver's struct nd_pfn_sb at byte 4096 with the
//     values Kata's nsdax tool writes, and MBR #2 at 2 MiB, the first sector of
//     what the pmem driver exposes as /dev/pmem0 (the info block's dataoff). MBR #1
//     lists the same partitions as MBR #2, shifted by the header, so both paths
//     see the same p1 and p2 bytes;
//   - the total size rounded up to an alignment, 128 MiB by default.
//
// Where it deliberately differs:
//
//   - p2 starts at the first 1 MiB boundary after p1, where Kata puts it at 99% of
//     the disk. Kata formats the filesystem in place on a disk sized before the hash
//     tree exists, so it reserves a guessed 1%; here both sizes are known before a
//     byte is written, and nothing reads p2's position on the disk (the runtime names
//     the device, /dev/vda2 or /dev/pmem0p2, and dm-verity starts at its block 0).
//   - Each partition is exactly as long as its content, where Kata's last partition
//     runs to the end of the disk. veritysetup takes a device's size as the data
//     size unless told otherwise, so a p1 longer than the hashed filesystem would
//     fail `veritysetup verify`; the kernel is told data_blocks and does not care.
//     The alignment tail after the last partition is unpartitioned zeros.
//   - The disk identifier comes from the caller (derived from content) instead of
//     parted's random one, and the CHS fields come from a fixed 255-head,
//     63-sector geometry, so the same inputs give the same bytes on any machine.
//   - The alignment applies to every filesystem; Kata's erofs path skips it.
package diskimage
