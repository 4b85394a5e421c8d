package snpmeasure

import (
	"crypto/sha256"
	"encoding/binary"
)

// DirectBoot is what QEMU measures for a direct kernel boot with
// kernel-hashes=on (Kata always sets it on its sev-snp-guest object): the
// SHA-256 of the kernel file, of the initrd file and of the command line.
type DirectBoot struct {
	Kernel, Initrd, Cmdline [sha256.Size]byte
}

// NewDirectBoot hashes the three inputs as QEMU does. A missing initrd
// hashes as an empty one. The command line is hashed with its terminating
// NUL, so an empty or absent one hashes as the single byte 0.
func NewDirectBoot(kernel, initrd []byte, cmdline string) *DirectBoot {
	return &DirectBoot{
		Kernel:  sha256.Sum256(kernel),
		Initrd:  sha256.Sum256(initrd),
		Cmdline: sha256.Sum256(append([]byte(cmdline), 0)),
	}
}

const (
	hashEntrySize = 16 + 2 + sha256.Size // GUID, u16 length, digest
	hashTableLen  = 16 + 2 + 3*hashEntrySize
	// hashTableSize is the table with the zero padding QEMU adds to reach a
	// multiple of 16 bytes; SEV and SEV-ES measure exactly these bytes.
	hashTableSize = (hashTableLen + 15) &^ 15
)

// Table lays out the SEV hashes table (QEMU's SevHashTable): a header GUID
// and length, then one entry each for the command line, the initrd and the
// kernel, in that order.
func (b *DirectBoot) Table() []byte {
	t := make([]byte, hashTableSize)
	copy(t, guidHashesTable[:])
	binary.LittleEndian.PutUint16(t[16:], hashTableLen)
	at := 18
	for _, e := range []struct {
		g   guid
		sum *[sha256.Size]byte
	}{{guidHashesCmdline, &b.Cmdline}, {guidHashesInitrd, &b.Initrd}, {guidHashesKernel, &b.Kernel}} {
		copy(t[at:], e.g[:])
		binary.LittleEndian.PutUint16(t[at+16:], hashEntrySize)
		copy(t[at+18:], e.sum[:])
		at += hashEntrySize
	}
	return t
}
