package adapt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/cut"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/sums"
)

func release(t *testing.T, arches ...string) *cut.Release {
	p := &plan.Plan{}
	for _, a := range arches {
		p.Builds = append(p.Builds, plan.Build{Arch: a, Kind: "kernel"})
	}
	return &cut.Release{Tag: "v1.2.0", Plan: p, DistRoot: t.TempDir()}
}

func TestImportBuilderCopiesPlannedArches(t *testing.T) {
	src := disttest.Build(t, t.TempDir())
	r := release(t, "aarch64")
	dst := filepath.Join(r.DistRoot, "v1.2.0")
	if err := (ImportBuilder{From: src}).Build(context.Background(), r, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "x86_64")); !os.IsNotExist(err) {
		t.Errorf("an arch the plan does not build was imported (%v)", err)
	}
	a, _ := sums.File(filepath.Join(src, "aarch64", "initrd-default.img"))
	b, err := sums.File(filepath.Join(dst, "aarch64", "initrd-default.img"))
	if err != nil || a != b {
		t.Errorf("imported initrd %s, source %s (%v)", b, a, err)
	}
	// A second import into the same tree refuses to overwrite.
	if err := (ImportBuilder{From: src}).Build(context.Background(), r, dst); err == nil || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("second import: %v", err)
	}
	if err := (ImportBuilder{From: src}).Build(context.Background(), release(t, "s390x"), t.TempDir()); err == nil || !strings.Contains(err.Error(), "no artifacts for the planned architectures") {
		t.Errorf("no planned arch in the source: %v", err)
	}
}

func TestEpoch(t *testing.T) {
	tc := &manifest.Toolchain{Path: "toolchain.yaml", Epoch: 1767225600}
	tests := []struct {
		name, env string
		tc        *manifest.Toolchain
		want      time.Time
		err       string // the whole message
	}{
		{name: "manifest epoch", env: "", tc: tc, want: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "SOURCE_DATE_EPOCH wins", env: "86400", tc: tc, want: time.Unix(86400, 0)},
		{name: "before 1970", env: "-86400", tc: tc, want: time.Unix(-86400, 0)},
		{name: "not a number", env: "yesterday", tc: tc, err: `SOURCE_DATE_EPOCH="yesterday" is not a number of seconds`},
		// fmt.Sscan read "12abc" as 12; sourcedate.Parse, like every other front door, refuses it.
		{name: "trailing garbage", env: "12abc", tc: tc, err: `SOURCE_DATE_EPOCH="12abc" is not a number of seconds`},
		{name: "no epoch anywhere", env: "", tc: &manifest.Toolchain{Path: "x.yaml"}, err: "x.yaml: no epoch and SOURCE_DATE_EPOCH is unset"},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			e, err := Epoch(c.tc, c.env)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %s", err, c.err)
				}
				return
			}
			if err != nil || !e.Equal(c.want) || e.Location() != time.UTC {
				t.Errorf("Epoch = %v, %v; want %v UTC", e, err, c.want)
			}
		})
	}
}

func TestSigningRefusesBadKeys(t *testing.T) {
	r := release(t, "x86_64")
	inside := filepath.Join(r.DistRoot, "cosign.key")
	os.WriteFile(inside, []byte("x"), 0o600)
	cases := map[string]*Signing{
		"keep keys outside dist/": {Key: inside},
		"release keygen":          {Key: filepath.Join(t.TempDir(), "missing.key")},
		"exclude each other":      {Key: "a.key", Keyless: true},
		"no signing key":          {},
	}
	for want, s := range cases {
		if _, err := s.Describe(context.Background(), r); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", s, err, want)
		}
	}
	if lines, err := (&Signing{Keyless: true}).Describe(context.Background(), r); err != nil || !strings.Contains(strings.Join(lines, "\n"), "Fulcio") {
		t.Errorf("keyless: %q %v", lines, err)
	}
}

func TestStagesInOrder(t *testing.T) {
	s, err := Stages(Config{Policy: plan.PolicyCheck{}, Signing: &Signing{Keyless: true}, Registry: &Registry{Repo: "127.0.0.1:5000/x"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range s {
		names = append(names, st.Name())
	}
	if strings.Join(names, " ") != strings.Join(cut.Order, " ") {
		t.Errorf("stages %v, want %v", names, cut.Order)
	}
	// Without a builder the build stage says what to do instead of building nothing.
	r := release(t, "x86_64")
	r.Dir = filepath.Join(r.DistRoot, r.Tag)
	if _, err := s[1].Run(context.Background(), r); err == nil || !strings.Contains(err.Error(), "--artifacts DIR") {
		t.Errorf("build without a builder: %v", err)
	}
}
