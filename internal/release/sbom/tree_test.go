package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
)

var created = time.Unix(disttest.Epoch, 0).UTC()

func writeSBOMs(t *testing.T) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(disttest.Build(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(tr, Options{Created: created, KernelSource: "http://deb.debian.org/linux.deb",
		Agents: map[string]Agent{"default": {Name: "guestforge-bootprobe"}}}); err != nil {
		t.Fatal(err)
	}
	tr, err = dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestScanInitrdFindsAgentInBothInitModes(t *testing.T) {
	tr, err := dist.Open(disttest.Build(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range disttest.Arches {
		for image, wantPath := range map[string]string{"default": "/usr/bin/kata-agent", "systemd": "/usr/bin/kata-agent"} {
			c, err := ScanInitrd(tr.Path(a.Name + "/" + artifact.InitrdName(image)))
			if err != nil {
				t.Fatal(err)
			}
			if c.Agent.Path != wantPath || c.Agent.SHA256 != sha(disttest.Agent(a)) || c.Agent.Size != int64(len(disttest.Agent(a))) {
				t.Errorf("%s/%s: agent %+v, want %s with the agent's digest", a.Name, image, c.Agent, wantPath)
			}
			if want := strings.ReplaceAll(disttest.Status, "ARCH", a.DebianArch); string(c.Status) != want {
				t.Errorf("%s/%s: dpkg status differs from what was packed", a.Name, image)
			}
		}
	}
}

func TestWriteDocuments(t *testing.T) {
	tr := writeSBOMs(t)
	x86 := arch.MustParse("x86_64")
	doc, _, err := Read(tr.Path(dist.ImageSBOM(x86, "default")))
	if err != nil {
		t.Fatal(err)
	}
	if doc.CreationInfo.Created != "2026-01-01T00:00:00Z" {
		t.Errorf("created = %s, want the epoch", doc.CreationInfo.Created)
	}
	if !regexp.MustCompile(`^https://github\.com/guestforge/guestforge/spdx/2026\.1\.0/x86_64/default-[0-9a-f]{32}$`).MatchString(doc.DocumentNamespace) {
		t.Errorf("namespace %s", doc.DocumentNamespace)
	}
	ids := map[string]Package{}
	idRE := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	for _, p := range doc.Packages {
		if !idRE.MatchString(p.SPDXID) {
			t.Errorf("invalid SPDX id %q", p.SPDXID)
		}
		ids[p.SPDXID] = p
	}
	// 7 Debian packages, the agent, initrd + rootfs + verity, one kernel.
	if len(doc.Packages) != disttest.InstalledPackages+1+3+1 {
		t.Errorf("%d packages, want %d", len(doc.Packages), disttest.InstalledPackages+5)
	}
	var purls, files []string
	for _, p := range doc.Packages {
		for _, r := range p.ExternalRefs {
			purls = append(purls, r.ReferenceLocator)
		}
		if p.PackageFileName != "" {
			files = append(files, p.PackageFileName+"="+checksum(p.Checksums))
		}
	}
	agent := sha(disttest.Agent(x86))
	kernel, _ := os.ReadFile(tr.Path("x86_64/vmlinuz-6.12.117-3f2a9c1d"))
	initrd, _ := os.ReadFile(tr.Path("x86_64/initrd-default.img"))
	for _, want := range []string{
		"pkg:deb/debian/libstdc++6@12.2.0-14+deb12u1?arch=amd64",
		"pkg:deb/debian/ca-certificates@20230311+deb12u1?arch=all",
		"pkg:generic/linux@6.12.117?config_id=3f2a9c1d&arch=x86_64",
	} {
		if !contains(purls, want) {
			t.Errorf("purl %s missing from %v", want, purls)
		}
	}
	for _, want := range []string{"/usr/bin/kata-agent=" + agent, "vmlinuz-6.12.117-3f2a9c1d=" + sha(kernel), "initrd-default.img=" + sha(initrd)} {
		if !contains(files, want) {
			t.Errorf("file %s missing from %v", want, files)
		}
	}
	for _, r := range doc.Relationships {
		for _, id := range []string{r.SPDXElementID, r.RelatedSPDXElement} {
			if _, ok := ids[id]; !ok && id != documentID {
				t.Errorf("relationship %+v names unknown element %s", r, id)
			}
		}
	}
	if err := Check(tr); err != nil {
		t.Fatalf("Check on a fresh tree: %v", err)
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	a, b := writeSBOMs(t), writeSBOMs(t)
	if a.Root == b.Root {
		t.Fatal("need two trees")
	}
	for _, rel := range a.SBOMs() {
		x, _ := os.ReadFile(a.Path(rel))
		y, err := os.ReadFile(b.Path(rel))
		if err != nil || string(x) != string(y) {
			t.Errorf("%s differs between two builds of the same tree (%v)", rel, err)
		}
	}
	if len(a.SBOMs()) != 5 { // 2 arches x 2 images + index
		t.Errorf("SBOMs %v, want 5", a.SBOMs())
	}
}

func TestCheckCatches(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, tr *dist.Tree)
		want   string
	}{
		{"tampered initrd", func(t *testing.T, tr *dist.Tree) {
			flipByte(t, tr.Path("aarch64/initrd-systemd.img"))
		}, "aarch64/sbom-systemd.spdx.json: package guestforge-systemd-initrd: aarch64/initrd-systemd.img has sha256"},
		{"edited image document", func(t *testing.T, tr *dist.Tree) {
			p := tr.Path("x86_64/sbom-default.spdx.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "12.4+deb12u10", "12.4+deb12u11", 1)), 0o644)
		}, "sbom.spdx.json: DocumentRef-x86-64-sbom-default: checksum SHA256:"},
		{"missing document", func(t *testing.T, tr *dist.Tree) {
			os.Remove(tr.Path("aarch64/sbom-default.spdx.json"))
		}, "aarch64/sbom-default.spdx.json: missing"},
		{"new image file", func(t *testing.T, tr *dist.Tree) {
			os.WriteFile(tr.Path("x86_64/rootfs-systemd.img"), []byte("late"), 0o644)
		}, "x86_64/sbom-systemd.spdx.json: rootfs-systemd.img is not described"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := writeSBOMs(t)
			c.mutate(t, tr)
			tr, err := dist.Open(tr.Root)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(tr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want %q", err, c.want)
			}
		})
	}
}

func flipByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
