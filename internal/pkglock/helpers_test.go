package pkglock

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

func sha(b []byte) (string, int64) {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), int64(len(b))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
