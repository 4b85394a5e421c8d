package build

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/manifest"
)

// gateFixture has one target in each status the gate tells apart.
const gateFixture = "testdata/gate/toolchain.yaml"

// standIn is an engine session over tc that no engine is behind; it counts how
// often it was opened.
func standIn(tc *manifest.Toolchain, opened *int) func(context.Context, OpenSpec) (*Session, error) {
	return func(_ context.Context, s OpenSpec) (*Session, error) {
		*opened++
		p := New(nil, nil)
		p.Log = s.Log
		return &Session{Pipeline: p, Repo: &Repo{Toolchain: tc}}, nil
	}
}

// Run refuses bad flags and refused target sets before it looks for an engine,
// and leaves nothing in Out.
func TestRunRefusesBeforeTheEngine(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		kind error
		want string
	}{
		{"unknown arch", Request{Arch: "sparc", Variant: "test"}, ErrBadInput, "sparc"},
		{"bad as-of", Request{Arch: "x86_64", Variant: "test", AsOf: "22.11.2026"}, ErrBadInput, "22.11.2026"},
		{"--test with another --variant", Request{Arch: "x86_64", Variant: "debug", VariantSet: true, Test: true},
			ErrBadInput, "--test builds the test variant: drop --kernel-variant or --test"},
		{"--all with a bad --fs", Request{All: true, Arch: "x86_64", FS: "btrfs", Compression: "zstd"}, ErrBadInput, "btrfs"},
		{"--all over an arch whose every target is removed", Request{All: true, Arch: "s390x", FS: "ext4", Compression: "zstd", AsOf: "2026-11-22"},
			ErrRefused, "nothing to build: every selected target is removed"},
		{"--all over a deprecated target on its removal date", Request{All: true, Arch: "aarch64", FS: "ext4", Compression: "zstd", AsOf: "2027-03-15"},
			ErrRefused, "aarch64/default reached its removal date 2027-03-15"},
		{"one removed kernel", Request{Arch: "s390x", Variant: "default", VariantSet: true, AsOf: "2026-11-22"},
			ErrRefused, "s390x/default was removed on 2025-07-15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opened := 0
			c.req.Manifest = gateFixture
			c.req.Out = filepath.Join(t.TempDir(), "dist")
			c.req.Open = standIn(nil, &opened)
			res, err := Run(context.Background(), c.req)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run: %v, want %v naming %q", err, c.kind, c.want)
			}
			if res != nil || opened != 0 {
				t.Errorf("Run returned %+v and opened the engine %d times, want neither", res, opened)
			}
			if _, err := os.Stat(c.req.Out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused build made %s (%v)", c.req.Out, err)
			}
		})
	}
}
