// Command mkoci wraps a root filesystem tarball (from mmdebstrap) into a single-layer OCI
// image archive that Dagger's Container.Import loads. hack/airgap/engine.sh uses it for the
// engine's base image; internal/build uses the same package for builder images.
//
//	mkoci [-arch amd64] [-epoch N] rootfs.tar out.oci.tar
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build/ociarchive"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkoci:", err)
		os.Exit(1)
	}
}

func run() error {
	archName := flag.String("arch", "", "architecture of the rootfs (any name internal/arch accepts; default: the host's)")
	epoch := flag.Int64("epoch", envEpoch(), "creation time in seconds since 1970 (default: $SOURCE_DATE_EPOCH, else 0)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mkoci [-arch A] [-epoch N] rootfs.tar out.oci.tar")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		return fmt.Errorf("want 2 arguments (rootfs tarball, output archive), got %d", flag.NArg())
	}
	a, err := arch.Host()
	if *archName != "" {
		a, err = arch.Parse(*archName)
	}
	if err != nil {
		return err
	}
	osName, ociArch, _ := strings.Cut(a.OCIPlatform, "/")
	digest, err := ociarchive.WriteFile(flag.Arg(1), ociarchive.Image{
		Rootfs:       flag.Arg(0),
		OS:           osName,
		Architecture: ociArch,
		Created:      time.Unix(*epoch, 0),
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd:          []string{"/bin/bash"},
	})
	if err != nil {
		return err
	}
	slog.Info("wrote OCI archive", "path", flag.Arg(1), "manifest", digest.String(), "platform", a.OCIPlatform)
	return nil
}

// envEpoch reads SOURCE_DATE_EPOCH so the tool follows the reproducible-builds convention.
// It only sets --epoch's default, so an unusable value falls back to 0 instead of failing.
func envEpoch() int64 {
	n, _, err := sourcedate.FromEnv()
	if err != nil {
		return 0
	}
	return n
}
