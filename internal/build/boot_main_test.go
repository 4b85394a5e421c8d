//go:build boot

package build

import (
	"fmt"
	"os"
	"testing"
)

// bootScratch holds what the boot tier builds once and boots in several tests
// (the test kernel, the Kata-layout images): it must outlive any one test's
// TempDir, and it is removed when the test binary exits, so a run leaves
// nothing behind in $TMPDIR (each run used to leave about 600 MB there).
var bootScratch string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guestforge-boot-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "boot tier: make a scratch directory:", err)
		os.Exit(2)
	}
	bootScratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
