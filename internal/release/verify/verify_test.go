package verify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/verify"
)

// recordingBoot stands in for QEMU in tier 1: it records what would be
// booted and answers like the probe would. The real boot is in boot_test.go
// (build tag boot).
type recordingBoot struct {
	mu    sync.Mutex
	pairs []string
	fail  string // a kernel+initrd pair (by initrd base name) that does not boot
	arch  string // overrides the arch the probe reports
}

func (r *recordingBoot) run(_ context.Context, c boot.Config) (boot.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pairs = append(r.pairs, c.Arch.Name+":"+c.Kernel[strings.LastIndex(c.Kernel, "/")+1:]+"+"+c.Initrd[strings.LastIndex(c.Initrd, "/")+1:])
	if c.Marker != boot.OKMarker || c.Initrd == "" {
		return boot.Result{}, errors.New("bad boot config")
	}
	if r.fail != "" && strings.HasSuffix(c.Initrd, r.fail) {
		return boot.Result{}, errors.New("timed out waiting for " + c.Marker)
	}
	a := c.Arch.Name
	if r.arch != "" {
		a = r.arch
	}
	return boot.Result{Line: boot.OKMarker + " init=agent kernel=6.12.117 arch=" + a, Duration: time.Second}, nil
}

func signed(t *testing.T) (*dist.Tree, *releasetest.Keys) {
	t.Helper()
	k := releasetest.KeyPair(t, "main")
	return releasetest.AttestAndSign(t, disttest.Build(t, t.TempDir()), k), k
}

func TestAllGreenBootsEveryPair(t *testing.T) {
	tr, k := signed(t)
	rb := &recordingBoot{}
	rep, err := verify.Tree(context.Background(), tr, verify.Options{Key: k.Verifier, Boot: rb.run})
	if err != nil {
		t.Fatal(err)
	}
	want := "x86_64:vmlinuz-6.12.117-3f2a9c1d+initrd-default.img x86_64:vmlinuz-6.12.117-3f2a9c1d+initrd-systemd.img " +
		"aarch64:vmlinuz-6.12.117-3f2a9c1d+initrd-default.img aarch64:vmlinuz-6.12.117-3f2a9c1d+initrd-systemd.img"
	if got := strings.Join(rb.pairs, " "); got != want {
		t.Fatalf("booted %s\nwant   %s", got, want)
	}
	if len(rep.Boots) != 4 {
		t.Fatalf("%d boots reported", len(rep.Boots))
	}
	// Every summed file got a checksum and a signature check.
	n := 0
	for _, it := range rep.Items {
		if strings.HasPrefix(it, "signature ") {
			n++
		}
	}
	if want := len(tr.Summed()) + 1; n != want {
		t.Fatalf("%d signatures checked, want %d", n, want)
	}
}

func TestFailuresNameTheItem(t *testing.T) {
	cases := []struct {
		name       string
		mutate     func(t *testing.T, tr *dist.Tree)
		key        string
		boot       *recordingBoot
		step, item string
	}{
		{name: "flipped byte", step: "checksum", item: "aarch64/initrd-default.img",
			mutate: func(t *testing.T, tr *dist.Tree) { releasetest.FlipByte(t, tr.Path("aarch64/initrd-default.img")) }},
		{name: "wrong key", key: "other", step: "signature", item: dist.SumsFile},
		{name: "missing signature", step: "signature", item: "x86_64/vmlinux-6.12.117-3f2a9c1d",
			mutate: func(t *testing.T, tr *dist.Tree) {
				os.Remove(tr.Path("x86_64/vmlinux-6.12.117-3f2a9c1d" + dist.BundleSuffix))
			}},
		{name: "swapped signature", step: "signature", item: "x86_64/config-6.12.117-3f2a9c1d",
			mutate: func(t *testing.T, tr *dist.Tree) {
				b, _ := os.ReadFile(tr.Path("x86_64/System.map-6.12.117-3f2a9c1d" + dist.BundleSuffix))
				os.WriteFile(tr.Path("x86_64/config-6.12.117-3f2a9c1d"+dist.BundleSuffix), b, 0o644)
			}},
		{name: "tampered SHA256SUMS", step: "signature", item: dist.SumsFile,
			mutate: func(t *testing.T, tr *dist.Tree) {
				b, _ := os.ReadFile(tr.Path(dist.SumsFile))
				os.WriteFile(tr.Path(dist.SumsFile), []byte(strings.Replace(string(b), "  x86_64/root_hash.txt\n", "  x86_64/root_hash.txt\n\n", 1)), 0o644)
			}},
		{name: "unlisted file", step: "listing", item: "x86_64/extra.bin",
			mutate: func(t *testing.T, tr *dist.Tree) { os.WriteFile(tr.Path("x86_64/extra.bin"), []byte("x"), 0o644) }},
		{name: "boot fails", step: "boot", item: "aarch64/vmlinuz-6.12.117-3f2a9c1d + initrd-systemd.img",
			boot: &recordingBoot{fail: "aarch64/initrd-systemd.img"}},
		{name: "probe reports another arch", step: "boot", item: "x86_64/vmlinuz-6.12.117-3f2a9c1d + initrd-default.img",
			boot: &recordingBoot{arch: "s390x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, k := signed(t)
			if c.mutate != nil {
				c.mutate(t, tr)
			}
			if c.key != "" {
				k = releasetest.KeyPair(t, c.key)
			}
			rb := c.boot
			if rb == nil {
				rb = &recordingBoot{}
			}
			_, err := verify.Dir(context.Background(), tr.Root, verify.Options{Key: k.Verifier, Boot: rb.run})
			var f *verify.Failure
			if !errors.As(err, &f) || f.Step != c.step || f.Item != c.item {
				t.Fatalf("verify = %v, want a %s failure naming %s", err, c.step, c.item)
			}
			if !strings.Contains(err.Error(), c.item) {
				t.Fatalf("message %q does not name %s", err, c.item)
			}
		})
	}
}

func TestNoBootAndNothingToBoot(t *testing.T) {
	tr, k := signed(t)
	rb := &recordingBoot{}
	if _, err := verify.Tree(context.Background(), tr, verify.Options{Key: k.Verifier, NoBoot: true, Boot: rb.run}); err != nil {
		t.Fatal(err)
	}
	if len(rb.pairs) != 0 {
		t.Fatalf("--no-boot booted %v", rb.pairs)
	}
}

// A signed release copied under another version's directory passes every
// checksum and signature; the version its attestations record must still
// refuse it, naming both versions.
func TestRelabelledDirectoryFails(t *testing.T) {
	tr, k := signed(t)
	relabelled := filepath.Join(t.TempDir(), "2026.2.0")
	if err := os.CopyFS(relabelled, os.DirFS(tr.Root)); err != nil {
		t.Fatal(err)
	}
	_, err := verify.Dir(context.Background(), relabelled, verify.Options{Key: k.Verifier, NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "version" || f.Item != dist.ProvenanceFile {
		t.Fatalf("verify = %v, want a version failure naming %s", err, dist.ProvenanceFile)
	}
	want := "version check failed: provenance.intoto.jsonl records release 2026.1.0, but it is being verified as release 2026.2.0 (" +
		relabelled + "): a signed release relabelled as another version; get release 2026.2.0 from where it was published under its own name"
	if err.Error() != want {
		t.Fatalf("message:\n%s\nwant:\n%s", err, want)
	}
}

// The notes `release cut` writes beside a local release name its version in
// their first line: notes copied from another release fail, naming both
// versions and the file:line; notes of this release pass and are reported.
func TestReleaseNotesBoundToVersion(t *testing.T) {
	tr, k := signed(t)
	dir := filepath.Join(t.TempDir(), "2026.1.0")
	if err := os.CopyFS(dir, os.DirFS(tr.Root)); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(filepath.Dir(dir), "2026.1.0.release", "notes.md")
	if err := os.MkdirAll(filepath.Dir(notes), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(notes, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("# guestforge 2026.1.0\n\nReleased 2026-01-05.\n")
	rep, err := verify.Dir(context.Background(), dir, verify.Options{Key: k.Verifier, NoBoot: true})
	if err != nil {
		t.Fatalf("notes of this release: %v", err)
	}
	if !strings.Contains(strings.Join(rep.Items, "\n"), "version 2026.1.0 (provenance, SBOM, release notes)") {
		t.Fatalf("the report does not say the notes were bound: %q", rep.Items)
	}

	write("# guestforge 2025.12.0\n\nReleased 2025-12-01.\n")
	_, err = verify.Dir(context.Background(), dir, verify.Options{Key: k.Verifier, NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "version" || f.Item != notes {
		t.Fatalf("verify = %v, want a version failure naming %s", err, notes)
	}
	for _, want := range []string{notes + ":1:", "release 2025.12.0", "beside release 2026.1.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message %q does not say %q", err, want)
		}
	}

	write("Release notes\n")
	if _, err = verify.Dir(context.Background(), dir, verify.Options{Key: k.Verifier, NoBoot: true}); err == nil || !strings.Contains(err.Error(), `not "# guestforge <version>"`) {
		t.Fatalf("notes without the heading: %v", err)
	}
}
