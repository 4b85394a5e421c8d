// Command fixturecmd builds (or finds in the cache) a Debian rootfs fixture
// tarball and prints its path. The boot tests and hack/bench-initrd.sh use it
// so the fixture key is computed in one place; CI can run it early, in the
// background, to have the fixture ready when tier 3 starts.
//
//	go run ./internal/boot/fixturecmd -image images/systemd.yaml
//	go run ./internal/boot/fixturecmd -minbase
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/manifest"
)

func main() {
	toolchain := flag.String("toolchain", "toolchain.yaml", "toolchain manifest (suite and mirror)")
	image := flag.String("image", "", "image definition whose variant and packages the rootfs gets")
	minbase := flag.Bool("minbase", false, "a plain minbase rootfs (the benchmark tree)")
	archName := flag.String("arch", "", "architecture (default: host)")
	flag.Parse()
	if err := run(*toolchain, *image, *minbase, *archName); err != nil {
		fmt.Fprintln(os.Stderr, "fixturecmd:", err)
		os.Exit(1)
	}
}

func run(toolchain, image string, minbase bool, archName string) error {
	if (image == "") == !minbase {
		return fmt.Errorf("pass exactly one of -image FILE or -minbase")
	}
	a, err := arch.Host()
	if archName != "" {
		a, err = arch.Parse(archName)
	}
	if err != nil {
		return err
	}
	tc, err := manifest.Load(toolchain)
	if err != nil {
		return err
	}
	spec := boot.MinbaseSpec(tc, a)
	if image != "" {
		img, err := manifest.LoadImage(image)
		if err != nil {
			return err
		}
		spec = boot.SpecForImage(tc, img, a)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path, err := boot.DebianRootfsTar(ctx, spec, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
