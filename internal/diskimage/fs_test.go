package diskimage

import (
	"strings"
	"testing"
)

func TestParseFS(t *testing.T) {
	for _, ok := range []string{"ext4", "erofs"} {
		if f, err := ParseFS(ok); err != nil || string(f) != ok {
			t.Errorf("ParseFS(%q) = %q, %v", ok, f, err)
		}
	}
	for _, bad := range []string{"xfs", "", "EXT4"} {
		if _, err := ParseFS(bad); err == nil || !strings.Contains(err.Error(), "ext4 or erofs") {
			t.Errorf("ParseFS(%q) = %v, want an error naming ext4 or erofs", bad, err)
		}
	}
}
