package diskimage

import (
	"crypto/sha256"
	"encoding/hex"
)

// Identifiers a filesystem, a hash tree or a partition table would otherwise get
// from the random number generator, derived from content instead: the same
// content gets the same identifiers on every build, different content different
// ones.

// ContentUUID derives a filesystem or verity UUID from a content digest. purpose
// separates the identifiers derived from one digest (filesystem UUID, hash seed,
// verity UUID). The result is an RFC 9562 version 8 (custom) UUID.
func ContentUUID(digest, purpose string) string {
	s := sha256.Sum256([]byte("guestforge " + purpose + "\n" + digest))
	b := s[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// DiskID derives the msdos disk identifier of a Kata-layout image (Spec.DiskID)
// from the filesystem's digest: parted picks a random one, a reproducible image
// cannot.
func DiskID(digest string) uint32 {
	s := sha256.Sum256([]byte("guestforge disk id\n" + digest))
	return uint32(s[0])<<24 | uint32(s[1])<<16 | uint32(s[2])<<8 | uint32(s[3])
}

// VeritySalt derives the dm-verity salt from the image digest: fixed for the
// content, unpredictable before it.
func VeritySalt(imageDigest string) string {
	s := sha256.Sum256([]byte("guestforge verity salt\n" + imageDigest))
	return hex.EncodeToString(s[:])
}
