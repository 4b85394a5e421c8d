package sbom

import (
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/pkglock"
)

func testLock() *pkglock.Lock {
	return &pkglock.Lock{Path: "images/default.lock", Kind: pkglock.KindImage, Name: "default", Mirror: "http://deb.debian.org/debian/",
		Arches: []*pkglock.Section{{Arch: "amd64", Packages: []pkglock.Entry{
			{Name: "kmod", Version: "30+20221128-1", Arch: "amd64", SHA256: strings.Repeat("a", 64), Filename: "pool/main/k/kmod/kmod_30+20221128-1_amd64.deb", Line: 12},
			{Name: "tzdata", Version: "2025b-0+deb12u1", Arch: "all", SHA256: strings.Repeat("b", 64), Filename: "pool/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb", Line: 13},
		}}}}
}

func TestFromLockCrossChecksDpkgStatus(t *testing.T) {
	installed := []DebPackage{{Name: "kmod", Version: "30+20221128-1", Architecture: "amd64"}, {Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all"}}
	got, err := fromLock(installed, testLock(), "amd64", "x86_64/initrd-default.img:/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Deb.SHA256 != strings.Repeat("a", 64) || got[1].Deb.Filename != "pool/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb" {
		t.Errorf("packages not joined with their .debs: %+v", got)
	}

	for _, c := range []struct {
		installed []DebPackage
		arch      string
		want      []string
	}{
		{installed[:1], "amd64", []string{"x86_64/initrd-default.img:/var/lib/dpkg/status does not hold what images/default.lock locks for amd64", "tzdata 2025b-0+deb12u1 (all) is locked (line 13) but not installed"}},
		{append(installed[:2:2], DebPackage{Name: "curl", Version: "7.88.1-10", Architecture: "amd64"}), "amd64", []string{"curl 7.88.1-10 (amd64) is installed but not locked"}},
		{[]DebPackage{{Name: "kmod", Version: "31-1", Architecture: "amd64"}, installed[1]}, "amd64", []string{"kmod is installed at 31-1, locked at 30+20221128-1 (line 12)", "run `release lock --update --image default`"}},
		{installed, "arm64", []string{"images/default.lock has no section for arch arm64"}},
	} {
		_, err := fromLock(c.installed, testLock(), c.arch, "x86_64/initrd-default.img:/var/lib/dpkg/status")
		if err == nil {
			t.Errorf("%v on %s: accepted", c.installed, c.arch)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	}
}

// A locked package in the SPDX document names the .deb it came from: its pool URL,
// file name and sha256.
func TestImageDocumentNamesTheLockedDeb(t *testing.T) {
	pkgs, err := fromLock([]DebPackage{{Name: "kmod", Version: "30+20221128-1", Architecture: "amd64", Source: "kmod"},
		{Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all"}}, testLock(), "amd64", "status")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ImageDocument(ImageInput{Version: "v1.0.0", Arch: arch.MustParse("x86_64"), Image: "default", Created: time.Unix(1767225600, 0),
		Packages: pkgs, Mirror: testLock().Mirror, Agent: Agent{File: File{Path: "/usr/bin/kata-agent", SHA256: strings.Repeat("c", 64)}},
		Files: []Artifact{{Kind: "initrd", File: "initrd-default.img", SHA256: strings.Repeat("d", 64)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Packages {
		if p.Name != "kmod" {
			continue
		}
		if p.DownloadLocation != "http://deb.debian.org/debian/pool/main/k/kmod/kmod_30+20221128-1_amd64.deb" ||
			p.PackageFileName != "kmod_30+20221128-1_amd64.deb" || len(p.Checksums) != 1 || p.Checksums[0].ChecksumValue != strings.Repeat("a", 64) {
			t.Errorf("kmod: %+v", p)
		}
		return
	}
	t.Error("no kmod package in the document")
}
