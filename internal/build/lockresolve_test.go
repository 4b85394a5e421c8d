package build

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/pkglock"
)

// needsOf are the checkout's locks: each name current unless listed in broken.
func needsOf(broken ...string) ([]pkglock.Need, *lockResolver) {
	r := &lockResolver{locks: map[string]*pkglock.Lock{}}
	var needs []pkglock.Need
	for _, n := range []struct {
		kind pkglock.Kind
		name string
	}{{pkglock.KindSeed, "seed"}, {pkglock.KindBuilder, "image"}, {pkglock.KindBuilder, "kernel"}, {pkglock.KindBuilder, "rootfs"},
		{pkglock.KindImage, "default"}, {pkglock.KindImage, "systemd"}} {
		need := pkglock.Need{Path: string(n.kind) + "/" + n.name + ".lock", Inputs: pkglock.Inputs{Kind: n.kind, Name: n.name}}
		if slices.Contains(broken, n.name) {
			need.Err = errors.New("missing")
		} else {
			need.Lock = &pkglock.Lock{Kind: n.kind, Name: n.name}
			r.locks[lockKey(n.kind, n.name)] = need.Lock
		}
		needs = append(needs, need)
	}
	return needs, r
}

func planned(needs []pkglock.Need, r *lockResolver, req LockRequest) string {
	var out []string
	for _, n := range r.plan(needs, req) {
		out = append(out, n.Inputs.Name)
	}
	return strings.Join(out, " ")
}

// What `release lock` resolves: what is not current, or everything selected with
// --update, plus the locks a selected one is resolved in when they are not current,
// always in dependency order.
func TestLockPlan(t *testing.T) {
	for _, c := range []struct {
		broken []string
		req    LockRequest
		want   string
	}{
		{nil, LockRequest{}, ""},
		{[]string{"default"}, LockRequest{}, "default"},
		{nil, LockRequest{Update: true}, "seed image kernel rootfs default systemd"},
		{nil, LockRequest{Images: []string{"systemd"}}, ""},
		{nil, LockRequest{Images: []string{"systemd"}, Update: true}, "systemd"},
		{[]string{"rootfs"}, LockRequest{Images: []string{"systemd"}, Update: true}, "rootfs systemd"},
		{[]string{"seed", "rootfs"}, LockRequest{Images: []string{"systemd"}, Update: true}, "seed rootfs systemd"},
		{[]string{"seed"}, LockRequest{Builders: []string{"kernel"}, Update: true}, "seed kernel"},
		{[]string{"rootfs"}, LockRequest{Builders: []string{"kernel"}, Update: true}, "kernel"},
		{[]string{"seed", "default", "systemd"}, LockRequest{}, "seed default systemd"},
	} {
		needs, r := needsOf(c.broken...)
		if got := planned(needs, r, c.req); got != c.want {
			t.Errorf("broken %v, request images %v builders %v update %v: resolves %q, want %q",
				c.broken, c.req.Images, c.req.Builders, c.req.Update, got, c.want)
		}
	}
}

// A name that is no lock of the checkout is refused before any work, saying which
// names there are.
func TestLockNamesChecked(t *testing.T) {
	root := t.TempDir()
	tc, err := manifest.Load("../../toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, ImagesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ImagesDir, "default.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  LockRequest
		want string
	}{
		{LockRequest{Images: []string{"default"}, Builders: []string{"seed", "kernel"}}, ""},
		{LockRequest{Images: []string{"nosuch"}}, "--image nosuch: no target of ../../toolchain.yaml lists that image (images: [default systemd])"},
		{LockRequest{Images: []string{"systemd"}}, "--image systemd: stat " + filepath.Join(root, "images", "systemd.yaml")},
		{LockRequest{Builders: []string{"nosuch"}}, "--builder nosuch: ../../toolchain.yaml has no builders.nosuch (builders: [firmware image kernel rootfs], and seed)"},
	} {
		c.req.Root = root
		err := checkLockNames(tc, c.req)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.req, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", c.req, err, c.want)
		}
	}
}
