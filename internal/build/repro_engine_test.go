//go:build engine

// Engine tier of the reproducibility gate: it must fail, naming the file, when one
// rootfs file carries an injected timestamp.
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags engine -run ReproGate ./internal/build/
//
// Cost: no kernel and no mmdebstrap run here. The default x86_64 rootfs is finished
// three times on the client from the cached raw mmdebstrap tarball, two initrds are
// packed, two ext4 + verity images are made in the engine (the unchanged one is an
// engine cache hit once TestImageMatrixX86 ran) and both images are walked with
// debugfs. Measured warm on the 2-core dev machine with a kernel build running
// alongside: 214 s (3m25s building, of which 1m13s each ext4 + verity image; 8 s
// comparing). On a fresh machine add one mmdebstrap of the default image (minutes),
// which every image test shares through /var/cache/guestforge/rootfs.
package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/build/session"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/testenv"
)

// stampedCheckout copies what the image pipelines read from the checkout and gives
// the overlay file rel the mtime at, with edit applied to its content when edit is
// not nil: the shape of a step that lets a build timestamp into one file.
func stampedCheckout(t *testing.T, rel string, at time.Time, edit func([]byte) []byte) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"toolchain.yaml", "go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(imagesRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"kernel-configs", "images", "builders", "cmd/bootprobe", "internal/arch", "patches"} {
		if _, err := os.Stat(filepath.Join(imagesRoot, d)); err == nil {
			copyTree(t, filepath.Join(imagesRoot, d), filepath.Join(root, d))
		}
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if edit != nil {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, edit(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestReproGateNamesInjectedTimestamp(t *testing.T) {
	testenv.RequireTool(t, "debugfs")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	c, err := session.Connect(ctx, testenv.ProgressLog(t, 80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := New(c, imageLog{t})
	const overlay = "images/files/default/etc/hostname"
	stamp := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	start := time.Now()

	rootfs := func(p *Pipeline, root string) (*Rootfs, *Repo) {
		t.Helper()
		repo := imageRepo(t, p, root)
		r, err := p.Rootfs(ctx, repo, RootfsSpec{Arch: x86, Image: "default"})
		if err != nil {
			t.Fatal(err)
		}
		return r, repo
	}
	artifacts := func(p *Pipeline, r *Rootfs, repo *Repo) string {
		t.Helper()
		i, err := p.Initrd(ctx, r, InitrdSpec{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.DiskImage(ctx, repo, r, DiskSpec{FS: FSExt4, Verity: true})
		if err != nil {
			t.Fatal(err)
		}
		return exportDir(t, ctx, c.Directory().WithDirectory(".", i.Dir).WithDirectory(".", d.Dir))
	}

	rA, repoA := rootfs(p, imagesRoot)
	// An injected mtime alone never reaches an artifact: the finisher sets every
	// mtime to the epoch, so the rootfs is the same tarball.
	if rC, _ := rootfs(p, stampedCheckout(t, overlay, stamp, nil)); rC.SHA256 != rA.SHA256 {
		t.Fatalf("a changed mtime on the overlay's etc/hostname changed the finished rootfs (%s != %s): the finisher leaks mtimes", rC.SHA256, rA.SHA256)
	}
	dirA := artifacts(p, rA, repoA)

	// The second build: the timestamp is in the file's content too, and it is built
	// in the perturbed environment the gate's second build uses, so the comparison
	// also proves the perturbation changes nothing else in the initrd and the image.
	q, cleanup, err := p.Perturbed(DefaultPerturbation())
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	restore := q.Perturb.ApplyHost()
	rB, repoB := rootfs(q, stampedCheckout(t, overlay, stamp, func(b []byte) []byte {
		return append(b, "# built "+stamp.Format(time.RFC3339)+"\n"...)
	}))
	dirB := artifacts(q, rB, repoB)
	restore()
	built := time.Since(start)

	start = time.Now()
	rep, err := repro.Compare(ctx, dirA, dirB, repro.Options{NoDiffoscope: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("built in %s, compared in %s:\n%s", built.Round(time.Second), time.Since(start).Round(time.Second), text.String())

	if rep.Identical {
		t.Fatal("the gate passed although etc/hostname differs")
	}
	if want := "FAIL x86_64/initrd-default.img (cpio, zstd): member etc/hostname differs: content sha256 "; !strings.HasPrefix(rep.Summary(), want) {
		t.Errorf("first line %q, want it to start with %q", rep.Summary(), want)
	}
	initrd := rep.Artifact("x86_64/initrd-default.img")
	if initrd == nil || initrd.MembersDiffering != 1 || initrd.Members[0].Member != "etc/hostname" || !initrd.Members[0].Cause {
		t.Errorf("initrd: want etc/hostname as the only differing member, got %+v", initrd)
	}
	img := rep.Artifact("x86_64/rootfs-default.img")
	if img == nil || img.Kind != repro.KindExt4 || len(img.Members) == 0 {
		t.Fatalf("rootfs image: no member compared: %+v", img)
	}
	if m := img.Members[0]; m.Member != "/etc/hostname" || !m.Cause || m.Fields[0].Field != "content sha256" {
		t.Errorf("rootfs image: first differing member %+v, want /etc/hostname's content", m)
	}
	// Anything else that differs in the image must follow from that file (the UUID and
	// hash seed derive from the rootfs digest); a cause elsewhere is a perturbation
	// that leaked.
	for _, m := range img.Members[1:] {
		if m.Cause {
			t.Errorf("rootfs image: %s differs on its own (%+v): the perturbed build leaked into it", m.Member, m.Fields)
		}
	}
	// Kata's layout: the hash tree is p2 of the image, so the params and the command
	// line (the root hash and salt derive from the content) carry the difference.
	for _, f := range []string{"x86_64/verity-default.params", "x86_64/root_hash.txt", "x86_64/verity-default.cmdline"} {
		if a := rep.Artifact(f); a == nil || a.Identical {
			t.Errorf("%s: want it to differ with the image it describes, got %+v", f, a)
		}
	}
}
