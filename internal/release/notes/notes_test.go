package notes_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/changes"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/notes"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.md from the current output")

// distTree writes a small dist/<version>/ tree with real bytes.
func distTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "v1.3.0")
	files := map[string]string{
		"x86_64/vmlinuz-6.12.117-3f2a9c1d":  strings.Repeat("K", 3000),
		"x86_64/config-6.12.117-3f2a9c1d":   "CONFIG_VIRTIO=y\n",
		"x86_64/initrd-default.img":         strings.Repeat("I", 2*1024*1024+5),
		"aarch64/vmlinuz-6.12.117-77aa00bb": "arm kernel",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func loadManifest(t *testing.T) *manifest.Toolchain {
	t.Helper()
	tc, err := manifest.Load("testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

func TestArtifactsMatchSha256sum(t *testing.T) {
	root := distTree(t)
	arts, err := notes.Artifacts(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range arts {
		names = append(names, a.Arch+"/"+a.Name)
	}
	want := "aarch64/vmlinuz-6.12.117-77aa00bb x86_64/config-6.12.117-3f2a9c1d x86_64/initrd-default.img x86_64/vmlinuz-6.12.117-3f2a9c1d"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("artifacts %s, want %s", got, want)
	}
	// The digests are what coreutils computes.
	sha := testenv.RequireTool(t, "sha256sum")
	out, err := exec.Command(sha, filepath.Join(root, "x86_64/initrd-default.img")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out))[0]; got != arts[2].SHA256 || arts[2].Size != 2*1024*1024+5 {
		t.Errorf("initrd: sha256sum says %s, table says %s size %d", got, arts[2].SHA256, arts[2].Size)
	}
}

func TestArtifactsRefuseTreeChangedAfterSums(t *testing.T) {
	root := distTree(t)
	tree, err := dist.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sums.Write(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Artifacts(root); err != nil {
		t.Fatalf("after sums.Write: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "x86_64/config-6.12.117-3f2a9c1d"), []byte("CONFIG_VIRTIO=n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = notes.Artifacts(root)
	if err == nil || !strings.Contains(err.Error(), "x86_64/config-6.12.117-3f2a9c1d") || !strings.Contains(err.Error(), "changed after it was summed") {
		t.Errorf("tampered tree: %v", err)
	}
}

func input(t *testing.T, arts []notes.Artifact) notes.Input {
	commits := []changes.Commit{
		changes.Classify(changes.Commit{Hash: "bbbbbbbbbbbbbbbbbbbb", Subject: "feat(kernel)!: switch to 6.12 longterm (#40)", Files: []string{"toolchain.yaml", "kernel-configs/common/base.conf", "kernel-configs/x86_64/x.conf"}}),
		changes.Classify(changes.Commit{Hash: "aaaaaaaaaaaaaaaaaaaa", Subject: "fix: keep vsock (#31)", Files: []string{"kernel-configs/common/vsock.conf"}}),
		changes.Classify(changes.Commit{Hash: "cccccccccccccccccccc", Subject: "docs: runbook", Files: []string{"docs/runbook.md"}}),
	}
	return notes.Input{
		Tag: "v1.3.0", Previous: "v1.2.0", Date: time.Date(2026, 4, 15, 9, 0, 0, 0, time.UTC),
		Commit: "0123456789abcdef0123456789abcdef01234567", Changes: changes.Group("v1.2.0", commits),
		Artifacts: arts, Manifest: loadManifest(t),
		Signing:  notes.Signing{PublicKey: "cosign.pub"},
		Registry: "ghcr.io/guestforge/guest-images", Repo: "guestforge/guestforge",
	}
}

func TestRenderGolden(t *testing.T) {
	arts, err := notes.Artifacts(distTree(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := notes.Render(input(t, arts))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/notes-v1.3.0.md", got)
	again, _ := notes.Render(input(t, arts))
	if !bytes.Equal(got, again) {
		t.Error("two renders of the same input differ")
	}
}

func TestRenderKeyless(t *testing.T) {
	in := input(t, nil)
	in.Signing = notes.Signing{Keyless: true, Tlog: true,
		Identity: "https://github.com/guestforge/guestforge/.github/workflows/release.yaml@refs/heads/main",
		Issuer:   "https://token.actions.githubusercontent.com"}
	got, err := notes.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "cosign verify-blob --certificate-identity https://github.com/guestforge/guestforge/.github/workflows/release.yaml@refs/heads/main --certificate-oidc-issuer https://token.actions.githubusercontent.com --bundle SHA256SUMS.sigstore.json SHA256SUMS\n"
	if !strings.Contains(string(got), want) || strings.Contains(string(got), "insecure-ignore-tlog") {
		t.Errorf("keyless notes lack %q or ask to ignore the tlog:\n%s", want, got)
	}
	in.Signing.Issuer = ""
	if _, err := notes.Render(in); err == nil {
		t.Error("keyless without issuer rendered")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3000: "2.9 KiB", 2*1024*1024 + 5: "2.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := notes.Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update after checking the diff):\n%s", path, got)
	}
}

// TestMeasuredImageParamsInNotes: a verity-<image>.params file is a row of the
// table and its value the configuration.toml line under "Measured images with Kata";
// a params file Kata would refuse stops the notes.
func TestMeasuredImageParamsInNotes(t *testing.T) {
	root := distTree(t)
	const params = "root_hash=5d41402abc4b2a76b9719d911017c592,salt=7f83b1657ff1fc53,data_blocks=25600,data_block_size=4096,hash_block_size=4096"
	if err := os.WriteFile(filepath.Join(root, "x86_64/verity-default.params"), []byte(params+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arts, err := notes.Artifacts(root)
	if err != nil {
		t.Fatal(err)
	}
	md, err := notes.Render(notes.Input{Tag: "v1.3.0", Date: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), Commit: "abc",
		Artifacts: arts, Manifest: loadManifest(t), Signing: notes.Signing{PublicKey: "cosign.pub"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| verity-default.params | x86_64 |", "### Measured images with Kata",
		"- x86_64 `rootfs-default.img`:", `  kernel_verity_params = "` + params + `"`} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("notes lack %q:\n%s", want, md)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "x86_64/verity-default.params"), []byte("root_hash=,salt=00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Artifacts(root); err == nil || !strings.Contains(err.Error(), "does not hold a kernel_verity_params value Kata accepts") {
		t.Fatalf("a broken params file: %v", err)
	}
}

// TestReferenceValuesInNotes: a reference-values file is a row of the table,
// and its values are printed under "Reference values" with the command line
// and the report field each is compared with; a file of another schema stops
// the notes.
func TestReferenceValuesInNotes(t *testing.T) {
	root := distTree(t)
	rv, err := os.ReadFile("../refvals/testdata/reference-values-confidential.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "x86_64/reference-values-confidential.json"), rv, 0o644); err != nil {
		t.Fatal(err)
	}
	arts, err := notes.Artifacts(root)
	if err != nil {
		t.Fatal(err)
	}
	md, err := notes.Render(notes.Input{Tag: "v1.3.0", Date: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), Commit: "abc",
		Artifacts: arts, Manifest: loadManifest(t), Signing: notes.Signing{PublicKey: "cosign.pub"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| reference-values-confidential.json | x86_64 |",
		"## Reference values\n",
		"### x86_64/confidential\n\n`x86_64/reference-values-confidential.json` (schema 2): kernel `vmlinuz-6.12.117-3f2a9c1d`, snp firmware `ovmf-amdsev.fd` (OvmfPkg/AmdSev/AmdSevX64.dsc), tdx firmware `ovmf-inteltdx.fd` (OvmfPkg/IntelTdx/IntelTdxX64.dsc).",
		"Image `default`, booted from `initrd-default.img`",
		"console=hvc0 console=hvc1 quiet panic=1 selinux=0 scsi_mod.scan=none\n```",
		"| 1 | EPYC-v4 | 0x1 | `7cfd3782f5fffd0f612b93d45da14ad50f1a706321e32f15a81c19025af6cbe2e24c538d204a52008981eaf25177633b` |",
		// The synthetic TDVF's per-page MRTD and the EFI kernel fixture's
		// RTMR[1] (internal/tdxmeasure's vectors), and refvals' golden RTMR[2].
		"| per-page | `205d3f16bf2fac0a1ab43630a219125ce851a1f0cf6b7d8b87326732cae7c752a5c541683d0706e3ad8e1b7fd7fb1e65` | " +
			"`000e131634f84c3262434701369c4b9953ed3e13070d564bd132219ff5e6cb5733552b6bb8de58e79a9a5922588fb629` | " +
			"`ba37450c1caed70fb25853cd77cb6552f69e4fcfe1545db7c351389ad4dfe23c99206b3db198cef1d7ce19cc14ff9bcd` |",
		"TDX per-page assumes: mrtd: host adds TDVF pages one at a time",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("notes lack %q:\n%s", want, md)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "x86_64/reference-values-confidential.json"), bytes.Replace(rv, []byte(`"schemaVersion": 2`), []byte(`"schemaVersion": 1`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Artifacts(root); err == nil || !strings.Contains(err.Error(), "x86_64/reference-values-confidential.json: schema version 1") {
		t.Fatalf("a file of another schema: %v", err)
	}
}
