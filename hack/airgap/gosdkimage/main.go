// Command gosdkimage builds, with a running engine, the Go SDK runtime image that Dagger
// modules need and writes it as an OCI archive. hack/airgap/engine.sh runs it during
// provisioning; the pipeline itself is internal/build/gosdk.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/guestforge/guestforge/internal/build/gosdk"
	"github.com/guestforge/guestforge/internal/build/session"
)

func main() {
	var in gosdk.Inputs
	flag.StringVar(&in.BaseImage, "base", "", "OCI archive of the Debian base image")
	flag.StringVar(&in.GoRoot, "goroot", "", "Go toolchain directory to install as /usr/local/go")
	flag.StringVar(&in.Codegen, "codegen", "", "dagger codegen binary")
	flag.StringVar(&in.SDKSource, "sdk", "", "dagger.io/dagger source directory")
	out := flag.String("out", "", "output OCI archive")
	flag.Parse()
	if in.BaseImage == "" || in.GoRoot == "" || in.Codegen == "" || in.SDKSource == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "gosdkimage: -base, -goroot, -codegen, -sdk and -out are all required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gosdkimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in gosdk.Inputs, out string) error {
	c, err := session.Connect(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	return gosdk.Export(ctx, c, in, out)
}
