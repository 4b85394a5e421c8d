package boot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
)

// ProbePackage is the boot probe's import path.
const ProbePackage = "github.com/guestforge/guestforge/cmd/bootprobe"

// Markers cmd/bootprobe prints; Run fails early on FailMarker.
const (
	OKMarker   = "GUESTFORGE-BOOT-OK"
	FailMarker = "GUESTFORGE-BOOT-FAIL"
)

// BuildProbe cross-builds the boot probe for a into out: static, stripped,
// and reproducible (same source and Go version, same bytes), so initrds that
// embed it are reproducible too. dir is a directory inside the guestforge
// module ("" = the current directory).
func BuildProbe(ctx context.Context, a arch.Arch, out, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build",
		"-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=",
		"-o", out, ProbePackage)
	cmd.Dir = dir
	cmd.Env = probeEnv(a)
	if outp, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build boot probe for %s: %w\n%s", a.Name, err, strings.TrimSpace(string(outp)))
	}
	return nil
}

// probeEnv is the environment with every variable that changes the probe's
// bytes pinned: no cgo, the target, and each arch's baseline ISA level (a
// GOAMD64=v3 in the user's shell would otherwise produce another binary).
func probeEnv(a arch.Arch) []string {
	pinned := map[string]string{
		"CGO_ENABLED":  "0",
		"GOOS":         "linux",
		"GOARCH":       a.GOARCH,
		"GOAMD64":      "v1",
		"GOARM64":      "v8.0",
		"GOPPC64":      "power8",
		"GOEXPERIMENT": "",
		"GOFLAGS":      "-mod=mod",
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := pinned[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range pinned {
		env = append(env, k+"="+v)
	}
	return env
}
