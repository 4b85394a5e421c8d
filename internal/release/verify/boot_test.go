//go:build boot

package verify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/verify"
	"github.com/guestforge/guestforge/internal/testenv"
)

// bootableTree is an x86_64 dist tree QEMU can boot: Debian's stock kernel
// from /boot and an agent-mode initrd whose agent is cmd/bootprobe.
func bootableTree(t *testing.T) string {
	t.Helper()
	x86 := arch.MustParse("x86_64")
	testenv.RequireTool(t, x86.QEMUSystem)
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(kernels) == 0 {
		testenv.Unavailable(t, "no /boot/vmlinuz-*: install linux-image-amd64 (hack/deps.sh)")
	}
	slices.Sort(kernels)
	kernel := kernels[len(kernels)-1]
	release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")

	root := filepath.Join(t.TempDir(), disttest.Version)
	dir := filepath.Join(root, x86.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	// <kver>-<cfg>: the Debian release string, config id "debian".
	if err := os.WriteFile(filepath.Join(dir, artifact.KernelName(artifact.KernelImage, release, "debian")), b, 0o644); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(t.TempDir(), "bootprobe")
	if err := boot.BuildProbe(context.Background(), x86, probe, ""); err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(tree, "var/lib/dpkg/status"), []byte(strings.ReplaceAll(disttest.Status, "ARCH", x86.DebianArch)), 0o644)
	if _, err := initrd.Build(initrd.Spec{Root: tree, Init: initrd.InitAgent, Agent: probe, Arch: x86,
		Compression: initrd.Gzip, Epoch: disttest.Epoch}, filepath.Join(dir, artifact.InitrdName("default"))); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestVerifyBootsPublishedRelease is the acceptance path with a real boot:
// sign, publish to a local registry, pull back by digest, verify including
// the QEMU boot to the probe line; then flip a byte and see it named.
func TestVerifyBootsPublishedRelease(t *testing.T) {
	ctx := context.Background()
	k := releasetest.KeyPair(t, "main")
	tr := releasetest.AttestAndSign(t, bootableTree(t), k)
	reg := releasetest.StartRegistry(t)
	repo, err := name.NewRepository(reg.Host + "/guestforge/guest")
	if err != nil {
		t.Fatal(err)
	}
	res, err := publish.Publish(ctx, tr, repo, publish.Options{Signer: k.Signer})
	if err != nil {
		t.Fatal(err)
	}
	console, err := os.Create(filepath.Join(t.TempDir(), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	start := time.Now()
	rep, err := verify.Ref(ctx, res.Index, t.TempDir(), verify.Options{Key: k.Verifier, BootTimeout: 4 * time.Minute, BootLog: console})
	if err != nil {
		b, _ := os.ReadFile(console.Name())
		t.Fatalf("verify %s: %v\nconsole:\n%s", res.Index, err, b)
	}
	if len(rep.Boots) != 1 || !strings.Contains(rep.Boots[0].Line, boot.OKMarker) || !strings.Contains(rep.Boots[0].Line, "arch=x86_64") {
		t.Fatalf("boots %+v", rep.Boots)
	}
	t.Logf("verified %s with %d checks in %s; probe line %q after %s", res.Index, len(rep.Items),
		time.Since(start).Round(time.Millisecond), rep.Boots[0].Line, rep.Boots[0].Duration.Round(time.Millisecond))
	if _, err := remote.Head(repo.Tag(disttest.Version)); err != nil {
		t.Fatal(err)
	}

	releasetest.FlipByte(t, filepath.Join(rep.Root, "x86_64", "initrd-default.img"))
	_, err = verify.Dir(ctx, rep.Root, verify.Options{Key: k.Verifier})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Item != "x86_64/initrd-default.img" {
		t.Fatalf("verify after a flipped byte: %v", err)
	}
}
