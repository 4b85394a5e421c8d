//go:build engine

package main

// Tier 2: a real `release cut` against a distribution registry on
// 127.0.0.1: attest, sign with a cosign key, publish, pull back and verify,
// notes and tag; killed in the middle of publishing and resumed; re-run
// after success; and the notes' verify commands checked with upstream cosign.

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

// killSwitch is a reverse proxy in front of the registry that, once armed,
// holds the first manifest upload and reports it: the blobs of the release
// are in the registry, no tag has moved, and the test kills the cut there.
type killSwitch struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	armed bool
	hit   chan string
	// killed is closed once the test has killed the cut.
	killed chan struct{}
}

func (k *killSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	trip := k.armed && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
	if trip {
		k.armed = false
	}
	k.mu.Unlock()
	if trip {
		k.hit <- r.URL.Path
		<-k.killed // hold the upload until its client is gone
		http.Error(w, "the release process was killed", http.StatusServiceUnavailable)
		return
	}
	k.proxy.ServeHTTP(w, r)
}

func TestReleaseCutAgainstRegistryKilledMidPublish(t *testing.T) {
	reg := releasetest.StartRegistry(t)
	upstream, _ := url.Parse("http://" + reg.Host)
	ks := &killSwitch{proxy: httputil.NewSingleHostReverseProxy(upstream), armed: true, hit: make(chan string, 1), killed: make(chan struct{})}
	front := httptest.NewServer(ks)
	defer front.Close()
	repoRef := strings.TrimPrefix(front.URL, "http://") + "/guestforge/guest-images"

	// An earlier release in the registry whose tag must survive everything.
	old, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	oldTag, err := name.NewTag(reg.Host + "/guestforge/guest-images:v1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(oldTag, old); err != nil {
		t.Fatal(err)
	}
	oldDigest, _ := old.Digest()

	f := newRelFixture(t)
	data, err := os.ReadFile("../../internal/release/plan/testdata/toolchain-2arch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.repo = changestest.History(t, data)
	f.repo.Git("2026-04-15", "config", "user.name", "Release Manager")
	f.repo.Git("2026-04-15", "config", "user.email", "rm@example.invalid")
	artifacts := disttest.Build(t, t.TempDir())
	key := filepath.Join(f.keyDir, sign.PrivateKeyFile)
	pub := filepath.Join(f.keyDir, sign.PublicKeyFile)
	args := []string{"cut", "--artifacts", artifacts, "--key", key, "--feeds", f.feeds, "--as-of", "2026-04-15",
		"--registry", repoRef, "--no-boot"}

	// 1. Start the cut and kill it when publishing reaches its first manifest.
	cmd := exec.Command(relBinary(t), args...)
	cmd.Dir = f.repo.Dir
	cmd.Env = append(os.Environ(), f.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case p := <-ks.hit:
		t.Logf("killing the cut at PUT %s", p)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		close(ks.killed)
	case err := <-exited:
		close(ks.killed)
		t.Fatalf("the cut ended before publishing a manifest: %v\n%s", err, out.String())
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		close(ks.killed)
		t.Fatalf("no manifest upload within 5 minutes:\n%s", out.String())
	}
	st, err := cut.LoadState(filepath.Join(f.repo.Dir, "dist"), "v1.2.0")
	if err != nil || st == nil || strings.Join(st.Finished(), ",") != "policy,build,attest,sign" {
		t.Fatalf("state after the kill: %+v %v\n%s", st, err, out.String())
	}
	if _, err := remote.Head(mustTag(t, reg.Host+"/guestforge/guest-images:v1.2.0")); err == nil {
		t.Fatal("the version tag exists after a publish killed before any manifest")
	}
	built := releasetest.Files(t, filepath.Join(f.repo.Dir, "dist", "v1.2.0"))

	// 2. Resume: publishing completes, verify pulls back by digest, notes, tag.
	res := relRun(t, f.repo.Dir, f.env, "cut", "--resume", "--key", key, "--feeds", f.feeds, "--registry", repoRef, "--no-boot")
	if res.code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "Released v1.2.0: ran publish, verify, notes, tag; skipped policy, build, attest, sign.") {
		t.Errorf("resume output:\n%s", res.stdout)
	}
	after := releasetest.Files(t, filepath.Join(f.repo.Dir, "dist", "v1.2.0"))
	for p, sum := range built {
		if after[p] != sum {
			t.Errorf("%s changed on resume: the build is never redone", p)
		}
	}
	if got := f.repo.Git("2026-04-15", "rev-parse", "v1.2.0^{commit}"); got != f.repo.Git("2026-04-15", "rev-parse", "HEAD") {
		t.Errorf("tag v1.2.0 at %s", got)
	}
	desc, err := remote.Head(mustTag(t, reg.Host+"/guestforge/guest-images:v1.1.0"))
	if err != nil || desc.Digest != oldDigest {
		t.Errorf("the earlier release's tag moved: %v %v, want %s", desc, err, oldDigest)
	}

	// 3. What the notes tell users to run works with upstream cosign (plus
	// the empty trusted root, as this host cannot reach Sigstore's TUF).
	notesMD, err := os.ReadFile(cut.NotesPath(filepath.Join(f.repo.Dir, "dist"), "v1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	root := releasetest.EmptyTrustedRoot(t)
	ran := 0
	for _, line := range strings.Split(string(notesMD), "\n") {
		if !strings.HasPrefix(line, "cosign verify-blob ") {
			continue
		}
		words := strings.Fields(line)[1:]
		for i, w := range words {
			if w == "cosign.pub" {
				words[i] = pub
			}
		}
		words = append(words[:len(words)-1], "--trusted-root", root, filepath.Join(f.repo.Dir, "dist", "v1.2.0", words[len(words)-1]))
		for i, w := range words {
			if strings.HasSuffix(w, ".sigstore.json") {
				words[i] = filepath.Join(f.repo.Dir, "dist", "v1.2.0", w)
			}
		}
		if out, err := releasetest.Cosign(t, nil, words...); err != nil {
			t.Errorf("the notes' command `%s` fails with upstream cosign: %v\n%s", line, err, out)
		}
		ran++
	}
	if ran != 1 {
		t.Errorf("the notes hold %d cosign verify-blob commands, want 1", ran)
	}
	// The registry command, against the published index (plain HTTP here).
	ran = 0
	for _, line := range strings.Split(string(notesMD), "\n") {
		if !strings.HasPrefix(line, "cosign verify ") {
			continue
		}
		words := strings.Fields(line)[1:]
		for i, w := range words {
			if w == "cosign.pub" {
				words[i] = pub
			}
		}
		words = append(words[:len(words)-1], "--allow-insecure-registry", "--allow-http-registry", words[len(words)-1])
		if out, err := releasetest.Cosign(t, nil, words...); err != nil {
			t.Errorf("the notes' command `%s` fails with upstream cosign: %v\n%s", line, err, out)
		}
		ran++
	}
	if ran != 1 {
		t.Errorf("the notes hold %d cosign verify commands, want 1", ran)
	}
	sumCheck := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sumCheck.Dir = filepath.Join(f.repo.Dir, "dist", "v1.2.0")
	if out, err := sumCheck.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}

	// 4. A re-run after success does nothing, by version and by month.
	res = relRun(t, f.repo.Dir, f.env, append(args, "--version", "v1.2.0")...)
	if res.code != 0 || !strings.Contains(res.stdout, "v1.2.0 is already released: nothing to do.") {
		t.Errorf("re-run by version: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = relRun(t, f.repo.Dir, f.env, args...)
	if res.code != 0 || !strings.Contains(res.stdout, "Nothing to cut.") {
		t.Errorf("re-run for the month: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
