//go:build engine

// Engine tier: the rootfs, initrd and disk image pipelines against a real Dagger engine.
//
//	eval "$(hack/airgap/engine.sh ensure)"; go test -tags engine -run Image ./internal/build/
//
// CI time: mmdebstrap runs once per package set and arch per machine (raw tarballs are
// cached under /var/cache/guestforge/rootfs by their content key; aarch64 through
// qemu-user takes about 16 minutes when fresh); the reproducibility test runs it twice
// more for the default x86_64 image with every cache off, on every run.
package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/pkglock"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/katastatic"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/testenv"
)

var x86 = arch.MustParse("x86_64")

// TestImageMatrixX86 builds every x86_64 image of the targets (default: agent as init;
// systemd) as `dagger call all --arches=x86_64` does, kernels aside, and checks what a
// release ships: the layout, clean ext4, hash trees veritysetup accepts, initrds that
// carry the agent and the dpkg database the SBOM is made from.
func TestImageMatrixX86(t *testing.T) {
	for _, tool := range []string{"e2fsck", "veritysetup"} {
		testenv.RequireTool(t, tool)
	}
	p, ctx := imagePipeline(t, 40*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	start := time.Now()
	d, err := p.All(ctx, repo, MatrixSpec{Arches: []string{"x86_64"}, NoKernel: true, FS: FSExt4, Verity: true, AsOf: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	dir := exportDir(t, ctx, d)
	t.Logf("x86_64 images (default, systemd): %s", time.Since(start).Round(time.Second))
	a := filepath.Join(dir, "x86_64")
	mustExist(t, filepath.Join(a, "initrd-default.img"), filepath.Join(a, "initrd-systemd.img"),
		filepath.Join(a, "rootfs-default.img"), filepath.Join(a, "verity-default.params"),
		filepath.Join(a, "rootfs-systemd.img"), filepath.Join(a, "verity-systemd.params"),
		filepath.Join(a, "verity-default.cmdline"), filepath.Join(a, "root_hash.txt"))
	for _, gone := range []string{"rootfs-default.img.verity", "rootfs-systemd.img.verity"} {
		if _, err := os.Stat(filepath.Join(a, gone)); err == nil {
			t.Errorf("x86_64/%s exists: in Kata's layout the hash tree is p2 of the image", gone)
		}
	}

	// Everything shipped is world-readable: a 0600 file in a dist tree fails for the
	// web server or the next user that serves or copies it.
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("x86_64/%s: mode %v, want 0644", e.Name(), fi.Mode().Perm())
		}
	}

	hashes, err := os.ReadFile(filepath.Join(a, "root_hash.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(hashes)), "\n")
	if len(lines) != 2 {
		t.Fatalf("root_hash.txt has %d lines, want one per image:\n%s", len(lines), hashes)
	}
	for _, line := range lines {
		root, file, ok := strings.Cut(line, "  ")
		if !ok || len(root) != 64 {
			t.Fatalf("root_hash.txt line %q is not <hash>  <file>", line)
		}
		kind, parts, ok := artifact.KindOf(file)
		if !ok || kind != artifact.RootfsImage {
			t.Fatalf("root_hash.txt line %q names %q, which is not a rootfs image", line, file)
		}
		k := checkKataImage(t, filepath.Join(a, file), filepath.Join(a, artifact.VerityParamsName(parts.Image)), FSExt4)
		if k.Verity.RootHash != root {
			t.Errorf("%s: root_hash.txt says %s, the params %s", file, root, k.Verity.RootHash)
		}
		if st, _ := os.Stat(filepath.Join(a, file)); st.Size()%(128<<20) != 0 {
			t.Errorf("%s is %d bytes, not a multiple of 128 MiB as Kata's image builder makes them", file, st.Size())
		}
	}
	cmdline, _ := os.ReadFile(filepath.Join(a, "verity-default.cmdline"))
	for _, want := range []string{`dm-mod.create="dm-verity,,,ro,0 `, " verity 1 /dev/vda1 /dev/vda2 4096 4096 ", " 0 sha256 " + lines[0][:64] + " ", "root=/dev/dm-0", "rootfstype=ext4"} {
		if !strings.Contains(string(cmdline), want) {
			t.Errorf("verity-default.cmdline lacks %q (Kata's GetKernelRootParams for virtio-blk): %s", want, cmdline)
		}
	}

	for _, c := range []struct {
		image, init, agent string
		pkgs               []string
	}{
		{"default", "agent", "/usr/bin/kata-agent", []string{"iptables", "kmod"}},
		{"systemd", "systemd", "/usr/bin/kata-agent", []string{"systemd", "udev"}},
	} {
		file := filepath.Join(a, artifact.InitrdName(c.image))
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		hdrs, comp, err := initrd.List(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		names := map[string]bool{}
		for _, h := range hdrs {
			names[h.Name] = true
		}
		for _, gone := range []string{"etc/resolv.conf", "usr/share/doc", "var/lib/dpkg/status-old"} {
			if names[gone] {
				t.Errorf("%s initrd holds %s", c.image, gone)
			}
		}
		contents, err := sbom.ScanInitrd(file)
		if err != nil {
			t.Fatalf("the SBOM scanner cannot read %s: %v", file, err)
		}
		if contents.Agent == nil || contents.Agent.Path != c.agent {
			t.Errorf("%s: the SBOM finds the agent at %+v, want %s", c.image, contents.Agent, c.agent)
		}
		pkgs, err := sbom.ParseStatus(bytes.NewReader(contents.Status), file)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, pk := range pkgs {
			have[pk.Name] = true
		}
		for _, want := range c.pkgs {
			if !have[want] {
				t.Errorf("%s: dpkg status lacks %s (%d packages)", c.image, want, len(pkgs))
			}
		}
		t.Logf("%s initrd: %s, %d entries, %d packages", c.image, comp, len(hdrs), len(pkgs))
	}
}

// TestImageReproducible is the reproducibility gate (`release repro`) over the x86_64
// images of the test matrix: the default image (agent initrd, ext4 + verity) built twice
// with every cache off (mmdebstrap included; only downloaded .debs are reused, see
// mmdebstrapArgs), the second time perturbed (TZ, locale, umask, work paths: see
// DefaultPerturbation), then compared by internal/release/repro, which names the first
// differing member of any artifact that differs. A third build with every cache allowed
// must give the same bytes: caches are keyed by the package lock.
//
// CI cost: two mmdebstrap runs plus packing, about 4-5 minutes each on 2 idle cores,
// warm or fresh alike. The kernel half of the gate is TestKernelReproducible.
func TestImageReproducible(t *testing.T) {
	p, ctx := imagePipeline(t, 50*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	out := t.TempDir()
	pt := DefaultPerturbation()
	builds, err := p.BuildTwice(ctx, repo, ReproSpec{
		Matrix:  MatrixSpec{Arches: []string{"x86_64"}, Images: []string{"default"}, NoKernel: true, FS: FSExt4, Verity: true},
		Perturb: &pt,
		OutA:    filepath.Join(out, "a"), OutB: filepath.Join(out, "b"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cache-disabled builds: %s, perturbed %s", builds[0].Took.Round(time.Second), builds[1].Took.Round(time.Second))
	rep, err := repro.Compare(ctx, builds[0].Dir, builds[1].Dir, repro.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !rep.Identical {
		t.Fatalf("the x86_64 images are not reproducible:\n%s", text.String())
	}
	if len(rep.Artifacts) < 4 {
		t.Fatalf("compared only %d artifacts, want initrd, image, verity params, cmdline and root hash:\n%s", len(rep.Artifacts), text.String())
	}
	t.Logf("gate passed:\n%s", text.String())

	// A third build with every cache allowed (the raw rootfs and builder images of the
	// client cache, the engine's): the same bytes, since each cache is keyed by the
	// lock, so a warm machine ships what a fresh one does.
	warm := filepath.Join(out, "warm")
	start := time.Now()
	if err := p.exportMatrix(ctx, repo, MatrixSpec{Arches: []string{"x86_64"}, Images: []string{"default"}, NoKernel: true, FS: FSExt4, Verity: true}, "", warm); err != nil {
		t.Fatal(err)
	}
	warmRep, err := repro.Compare(ctx, builds[0].Dir, warm, repro.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !warmRep.Identical {
		var wt strings.Builder
		_ = warmRep.WriteText(&wt)
		t.Fatalf("the cached build differs from the cache-disabled one:\n%s", wt.String())
	}
	t.Logf("cached build (%s) identical to the cache-disabled ones", time.Since(start).Round(time.Second))

	// The kata-static tarball of each build: the same bytes, so the tree kata-deploy
	// installs is as reproducible as the artifacts in it.
	var sums [2]string
	for i, b := range builds {
		tr, err := dist.OpenSkipping(b.Dir, "logs")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		names, err := katastatic.Write(&buf, tr, katastatic.Options{Arch: "x86_64", Image: "default", Initrd: "default",
			Distro: "debian", DistroVersion: "bookworm", Epoch: repo.Toolchain.Epoch})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(names, "kata-containers.img") || !slices.Contains(names, "root_hash_base.txt") {
			t.Fatalf("kata-static of build %d lacks Kata's image names: %v", i, names)
		}
		sums[i] = fmt.Sprintf("%x", sha256.Sum256(buf.Bytes()))
	}
	if sums[0] != sums[1] {
		t.Fatalf("kata-static tarballs of the two builds differ: %s vs %s", sums[0], sums[1])
	}
	t.Logf("kata-static tarball identical across the two builds: sha256 %s", sums[0])
}

// errorCheckout is a checkout with image definitions that must fail: an unknown
// package, a budget the packages exceed, an agent that is not there.
func errorCheckout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, rel := range []string{"toolchain.yaml", "go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(imagesRoot, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"kernel-configs", "images", "builders", "cmd/bootprobe", "internal/arch"} {
		copyTree(t, filepath.Join(imagesRoot, rel), filepath.Join(root, rel))
	}
	def, err := os.ReadFile(filepath.Join(imagesRoot, "images", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(imagesRoot, "images", "default.lock"))
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string]string{
		"nopkg":   strings.Replace(string(def), "packages: [iptables, kmod, ca-certificates]", "packages: [iptables, kmod,\n  guestforge-no-such-package, ca-certificates]", 1),
		"toobig":  strings.Replace(string(def), "budget: 160MiB", "budget: 8MiB", 1),
		"noagent": strings.Replace(string(def), "bootprobe: true", "path: ../bin/guestforge-agent", 1),
		"badhash": string(def) + "\n",
	}
	for name, text := range variants {
		if text == string(def) {
			t.Fatalf("images/default.yaml changed shape: the %s variant could not be derived", name)
		}
		text = strings.Replace(text, "name: default", "name: "+name, 1)
		if err := os.WriteFile(filepath.Join(root, "images", name+".yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Each answers the default's lock under its own name (nopkg's is stale: it
		// asks for one more package).
		l := strings.Replace(string(lock), "\nname default\n", "\nname "+name+"\n", 1)
		if name == "badhash" {
			l, badHashPackage = badHash(t, l)
		}
		if err := os.WriteFile(filepath.Join(root, "images", name+".lock"), []byte(l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A target lists nopkg, so `release lock --image nopkg` may resolve it.
	tc, err := os.ReadFile(filepath.Join(root, "toolchain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tc = append(tc, "  - {arch: x86_64, variant: test, images: [nopkg], status: experimental, maintainers: [\"@guestforge/x86-maintainers\"]}\n"...)
	if err := os.WriteFile(filepath.Join(root, "toolchain.yaml"), tc, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// badHash gives the first package of the lock's amd64 section a sha256 no .deb has,
// writing the lock as `release lock` does, and returns it and that package's name.
func badHash(t *testing.T, lock string) (string, string) {
	t.Helper()
	l, err := pkglock.Parse("default.lock", []byte(lock))
	if err != nil {
		t.Fatal(err)
	}
	sec, ok := l.Section("amd64")
	if !ok || len(sec.Packages) == 0 {
		t.Fatal("images/default.lock has no amd64 package line")
	}
	sec.Packages[0].SHA256 = strings.Repeat("0", 64)
	return string(pkglock.Format(l)), sec.Packages[0].Name
}

// badHashPackage is the package badHash changed.
var badHashPackage string

func TestImageErrorsBeforeExport(t *testing.T) {
	p, ctx := imagePipeline(t, 30*time.Minute)
	root := errorCheckout(t)
	repo := imageRepo(t, p, root)
	work := func() map[string]bool {
		m := map[string]bool{}
		entries, _ := os.ReadDir(p.dir("work"))
		for _, e := range entries {
			m[e.Name()] = true
		}
		return m
	}
	for _, c := range []struct {
		image string
		want  []string
		check func(error) bool
	}{
		{"noagent", []string{"image noagent", "agent.path ../bin/guestforge-agent", "images/noagent.yaml:", "not in the checkout"}, nil},
		{"nopkg", []string{"images/nopkg.lock is stale", "added guestforge-no-such-package", "release lock --update --image nopkg"}, nil},
		{"badhash", []string{"images/badhash.lock:", "package " + badHashPackage + " ", "the lock says 0000000000", "release lock --update --image badhash"}, nil},
		{"toobig", []string{"image toobig", "over its budget of 8MiB", "images/toobig.yaml", "largest directories: /usr/"},
			func(err error) bool { var be *BudgetError; return errors.As(err, &be) }},
	} {
		t.Run(c.image, func(t *testing.T) {
			before := work()
			start := time.Now()
			// The image's jobs as RunMatrix runs them (these images are no target's).
			jr := newJobRunner(ctx, p.Log, MatrixHooks{})
			runImage(jr, pipelineSteps{p}, repo, ImageJob{Arch: x86, Image: c.image}, MatrixSpec{FS: FSExt4, Verity: true})
			_, err := jr.finish()
			if err == nil {
				t.Fatal("the build succeeded")
			}
			t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q", w)
				}
			}
			if c.check != nil && !c.check(err) {
				t.Errorf("error has the wrong type: %T", err)
			}
			for name := range work() {
				if !before[name] && strings.Contains(name, c.image) {
					t.Errorf("work/%s was written by a failed build", name)
				}
			}
		})
	}
}

// `release lock` of an image asking for a package Debian does not have names the
// package and the definition's line, and leaves the old lock as it was.
func TestLockNamesAnUnknownPackage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root := errorCheckout(t)
	lockFile := filepath.Join(root, "images", "nopkg.lock")
	before, err := os.ReadFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ResolveLocks(ctx, LockRequest{Root: root, Images: []string{"nopkg"}, AsOf: time.Now()})
	if err == nil {
		t.Fatalf("resolved: %+v", res.Resolved)
	}
	for _, w := range []string{"resolve " + filepath.Join(root, "images", "nopkg.lock"), `package "guestforge-no-such-package"`,
		"Unable to locate package guestforge-no-such-package", "images/nopkg.yaml:12"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q: %v", w, err)
		}
	}
	if len(res.Resolved) != 0 {
		t.Errorf("resolved %+v besides the failing lock: the seed and rootfs builder locks are current", res.Resolved)
	}
	if after, _ := os.ReadFile(lockFile); string(after) != string(before) {
		t.Error("the failed resolution changed images/nopkg.lock")
	}
}

// TestImageAarch64 builds the default image's rootfs and initrd for aarch64 on this
// (x86_64) engine: mmdebstrap through qemu-user-static, the ELF check of the packer
// proving every binary is aarch64.
func TestImageAarch64(t *testing.T) {
	p, ctx := imagePipeline(t, 40*time.Minute)
	repo := imageRepo(t, p, imagesRoot)
	a := arch.MustParse("aarch64")
	start := time.Now()
	r, err := p.Rootfs(ctx, repo, RootfsSpec{Arch: a, Image: "default"})
	if err != nil {
		t.Fatal(err)
	}
	rootfsTook := time.Since(start)
	start = time.Now()
	art, err := p.Initrd(ctx, r, InitrdSpec{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("aarch64 default: rootfs %s (%d entries, %s), initrd %s (%s)", rootfsTook.Round(time.Second),
		r.Stats.Entries, mib(r.Stats.ContentBytes), time.Since(start).Round(time.Second), art.Files[0])
	f, err := os.Open(r.Tar)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(h.Name, "./usr/lib/aarch64-linux-gnu/libc.so") {
			found = true
		}
	}
	if !found {
		t.Error("the aarch64 rootfs has no usr/lib/aarch64-linux-gnu/libc.so*")
	}
}

func mustExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", p, err)
		}
	}
}
