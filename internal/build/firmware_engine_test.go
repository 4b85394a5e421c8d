//go:build engine

// Engine tier: OVMF from the pinned edk2. CI time: the firmware builder image
// once per machine, then two builds of both platforms (about 3 minutes each
// on 2 cores): one through the cache, one with every cache off.
package build

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/sha256sum"
	"github.com/guestforge/guestforge/internal/snpmeasure"
	"github.com/guestforge/guestforge/internal/tdxmeasure"
)

// The firmware builds twice, once with every cache off, to the same bytes,
// and both images are what the measurement code needs: AmdSev with the SEV
// hashes table and kernel hashes section, IntelTdx with TDX metadata.
func TestFirmwareReproducible(t *testing.T) {
	p, ctx := enginePipeline(t)
	repo, err := p.LocalRepo(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.Parse("x86_64")
	sums := map[string]string{}
	for _, nonce := range []string{"", "firmware-repro"} {
		fw, err := p.Firmware(ctx, repo, FirmwareSpec{Arch: x86, Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := fw.Dir.Export(ctx, dir); err != nil {
			t.Fatal(err)
		}
		want := []string{"x86_64/" + artifact.FirmwareName(artifact.FirmwareAmdSev), "x86_64/" + artifact.FirmwareName(artifact.FirmwareIntelTdx)}
		if len(fw.Files) != 2 || fw.Files[0] != want[0] || fw.Files[1] != want[1] {
			t.Fatalf("files %v, want %v", fw.Files, want)
		}
		for _, f := range fw.Files {
			got, _, err := sha256sum.File(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if nonce == "" {
				sums[f] = got
				continue
			}
			t.Logf("%s sha256 %s (cached and cache-off builds)", f, got)
			if got != sums[f] {
				t.Errorf("%s: cached build %s, cache-off build %s: the firmware build is not reproducible", f, sums[f], got)
			}
		}
		amd, err := os.ReadFile(filepath.Join(dir, want[0]))
		if err != nil {
			t.Fatal(err)
		}
		sev, err := snpmeasure.ParseFirmware(amd)
		if err != nil || sev.HashTableGPA == 0 || !sev.HasSection(snpmeasure.SectionKernelHashes) || sev.Size() != 4<<20 {
			t.Errorf("ovmf-amdsev.fd: %v, hashes table at %#x, kernel hashes %v, %d bytes", err, sev.HashTableGPA, sev != nil && sev.HasSection(snpmeasure.SectionKernelHashes), len(amd))
		}
		tdx, err := os.ReadFile(filepath.Join(dir, want[1]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tdxmeasure.ParseFirmware(tdx); err != nil {
			t.Errorf("ovmf-inteltdx.fd: %v", err)
		}
	}
}
