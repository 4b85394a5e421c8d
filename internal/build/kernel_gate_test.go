package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/support"
)

// timelessLog logs without the time, so two logs of the same records compare equal.
func timelessLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}))
}

// `release build --arch A --kernel-variant V` (Run) and the Dagger function kernel
// (GatedKernel over the module's checkout) gate the same request the same way: the
// same refusal, or the same warnings and then the build. The kernel archive given
// does not exist, so a request the gate lets through stops at the archive check,
// the first step of a kernel build, before anything needs an engine.
func TestKernelGateSameThroughBothFrontDoors(t *testing.T) {
	tc, err := manifest.Load(gateFixture)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "linux-not-here.tar.xz")
	cases := []struct {
		name, arch, variant, asOf string
		refused                   bool
		warnings                  []string
	}{
		{"supported target", "x86_64", "default", "2026-11-22", false, nil},
		{"experimental target", "x86_64", "debug", "2026-11-22", false, nil},
		{"variant that is no target: not gated", "x86_64", "test", "2026-11-22", false, nil},
		{"deprecated unmaintained target, by alias", "arm64", "default", "2026-11-22", false, []string{
			"aarch64/default is deprecated since 2026-09-15 and will be removed on 2027-03-15 (in 113 days)",
			"aarch64/default has no maintainer"}},
		{"deprecated target on its removal date", "aarch64", "default", "2027-03-15", true, nil},
		{"removed target", "s390x", "default", "2026-11-22", true, nil},
		{"removed target's variant that is no target: not gated", "s390x", "test", "2026-11-22", false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			var cliLog, ciLog bytes.Buffer
			opened := 0
			_, cliErr := Run(ctx, Request{Arch: c.arch, Variant: c.variant, VariantSet: true, AsOf: c.asOf,
				Manifest: gateFixture, Out: filepath.Join(t.TempDir(), "dist"), KernelArchive: missing,
				Log: timelessLog(&cliLog), Open: standIn(tc, &opened)})

			a, err := arch.Parse(c.arch)
			if err != nil {
				t.Fatal(err)
			}
			day, err := policy.ParseAsOf(c.asOf)
			if err != nil {
				t.Fatal(err)
			}
			p := New(nil, nil)
			p.Log = timelessLog(&ciLog)
			_, ciErr := p.GatedKernel(ctx, &Repo{Toolchain: tc}, KernelSpec{Arch: a, Variant: c.variant, Archive: missing}, day)

			if cliErr == nil || ciErr == nil {
				t.Fatalf("release build: %v; kernel: %v; want both to fail (refused, or at the missing archive)", cliErr, ciErr)
			}
			if cliErr.Error() != ciErr.Error() {
				t.Errorf("the front doors disagree:\nrelease build: %v\nkernel:        %v", cliErr, ciErr)
			}
			for door, err := range map[string]error{"release build": cliErr, "kernel": ciErr} {
				if got := errors.Is(err, ErrRefused) && errors.Is(err, support.ErrRemoved); got != c.refused {
					t.Errorf("%s: refused = %v, want %v: %v", door, got, c.refused, err)
				}
				if !c.refused && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: %v, want the gate passed and the build stopped at the missing archive", door, err)
				}
			}
			if want := map[bool]int{true: 0, false: 1}[c.refused]; opened != want {
				t.Errorf("release build opened the engine %d times, want %d", opened, want)
			}
			if cliLog.String() != ciLog.String() {
				t.Errorf("the front doors log differently:\nrelease build:\n%s\nkernel:\n%s", cliLog.String(), ciLog.String())
			}
			lines := strings.Split(strings.TrimSpace(ciLog.String()), "\n")
			if len(c.warnings) == 0 && ciLog.Len() > 0 || len(c.warnings) > 0 && len(lines) != len(c.warnings) {
				t.Fatalf("log:\n%s\nwant the warnings %q", ciLog.String(), c.warnings)
			}
			for i, w := range c.warnings {
				if !strings.Contains(lines[i], "level=WARN") || !strings.Contains(lines[i], w) {
					t.Errorf("log line %d: %s\nwant a warning containing %q", i+1, lines[i], w)
				}
			}
		})
	}
}
