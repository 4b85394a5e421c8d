package sign

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// A keyless signature holds its input in memory: past the bound SignBlob
// refuses before any Sigstore call, naming the file and the limit.
func TestKeylessSignBlobIsBounded(t *testing.T) {
	old := maxKeylessBlobBytes
	maxKeylessBlobBytes = 16
	t.Cleanup(func() { maxKeylessBlobBytes = old })

	file := filepath.Join(t.TempDir(), "rootfs-default.img")
	if err := os.WriteFile(file, []byte(strings.Repeat("x", 17)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = (&Keyless{}).SignBlob(context.Background(), f)
	var tl *boundedio.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("SignBlob of 17 bytes with a 16-byte bound: got %v, want a TooLargeError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, file) || !strings.Contains(msg, "16 bytes") {
		t.Fatalf("the error must name the file and the limit: %s", msg)
	}
}
