package hacktest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// The kernel series check runs on every deps.sh call, first of all on a fresh machine where
// nothing is unpacked: a missing tree is "not 6.12 yet", never the end of the script.
func TestDepsKernelSeries(t *testing.T) {
	withMakefile := func(t *testing.T, content string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"missing tree", filepath.Join(t.TempDir(), "linux-source-6.12"), ""},
		{"unpacked 6.12", withMakefile(t, "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\nNAME = Baby Opossum Posse\n"), "6.12\n"},
		{"Makefile without PATCHLEVEL", withMakefile(t, "VERSION = 6\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runBash(t, nil, ". hack/deps.sh\nkernel_series \"$1\"\necho \"exit $?\"\n", tc.dir)
			if res.code != 0 || res.stdout != tc.want+"exit 0\n" || res.stderr != "" {
				t.Errorf("kernel_series %s: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", tc.dir, res.code, res.stdout, res.stderr, tc.want+"exit 0\n")
			}
		})
	}
}

// A package dpkg has never heard of is "missing" (dpkg-query exits 1 for it), not a
// failure of the script.
func TestDepsMissingPackages(t *testing.T) {
	testenv.RequireTool(t, "dpkg-query")
	list := filepath.Join(t.TempDir(), "apt-packages.txt")
	if err := os.WriteFile(list, []byte("# a comment\nbash   # the shell itself\n\n  guestforge-no-such-package\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runBash(t, nil, ". hack/deps.sh\nmissing_packages \"$1\"\n", list)
	if res.code != 0 || res.stdout != "guestforge-no-such-package\n" || res.stderr != "" {
		t.Errorf("missing_packages: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", res.code, res.stdout, res.stderr, "guestforge-no-such-package\n")
	}
}
