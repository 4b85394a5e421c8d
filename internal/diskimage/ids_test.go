package diskimage

import (
	"regexp"
	"testing"
)

func TestContentUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := ContentUUID("abc", "ext4 uuid")
	if !re.MatchString(a) {
		t.Fatalf("%q is not a version 8 RFC 9562 UUID", a)
	}
	if a != ContentUUID("abc", "ext4 uuid") {
		t.Error("same content, different UUID")
	}
	if a == ContentUUID("abd", "ext4 uuid") || a == ContentUUID("abc", "ext4 hash seed") {
		t.Error("different content or purpose gave the same UUID")
	}
	if s := VeritySalt("abc"); len(s) != 64 || s == VeritySalt("abd") {
		t.Errorf("salt %q: want 64 hex digits that depend on the digest", s)
	}
}

// TestIdentifiersPinned holds the derived identifiers to the bytes every
// released image carries: a change here changes every image.
func TestIdentifiersPinned(t *testing.T) {
	const digest = "7b537a1de773b6bff0c36ceb2270d0e1de8c6d876776db18abb42f7ae991b511"
	for got, want := range map[string]string{
		ContentUUID(digest, "ext4 uuid"): "775259fd-401c-80a2-8b3d-e9344ecee445",
		VeritySalt(digest):               "1b9c15b9aa8e4d45e577217586afba4d34d65d41934f058af3444b6ecff96028",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if got := DiskID(digest); got != 0x3ccb1bd5 {
		t.Errorf("DiskID = %#08x, want 0x3ccb1bd5", got)
	}
	if DiskID(digest) == DiskID(digest[:63]+"0") {
		t.Error("different digests gave the same disk id")
	}
}
