// Package gosdk builds the Go SDK runtime image that Dagger modules written in Go
// (`dagger call` on ci/) run in.
//
// The stock engine image bundles this image (golang:alpine, the codegen binary, warm
// module and build caches) and loads it from its builtin content store. An air-gapped
// engine has no registry to get golang:alpine from, so hack/airgap builds an equivalent
// from its Debian base image, the host's Go toolchain and the codegen binary it built from
// the Go module proxy, exports it as an OCI archive, and loads that into the engine.
package gosdk

import (
	"context"
	"fmt"

	"dagger.io/dagger"
)

// Inputs are host paths; the engine reads them through the session.
type Inputs struct {
	BaseImage string // OCI archive of a Debian base image (hack/airgap's mmdebstrap output)
	GoRoot    string // a Go toolchain directory, new enough for the modules it will build
	Codegen   string // dagger's codegen binary at the engine's version
	SDKSource string // dagger.io/dagger module source at the engine's version (warms caches)
}

// Export builds the image and writes it as an OCI archive to out (a host path).
func Export(ctx context.Context, c *dagger.Client, in Inputs, out string) error {
	const path = "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	base := c.Container().
		Import(c.Host().File(in.BaseImage)).
		// git and ssh: the SDK runtime fetches git-hosted dependencies of modules.
		WithExec([]string{"sh", "-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*"}).
		WithDirectory("/usr/local/go", c.Host().Directory(in.GoRoot)).
		WithEnvVariable("GOPATH", "/go").
		WithEnvVariable("PATH", path).
		WithEnvVariable("GOTOOLCHAIN", "local").
		WithFile("/usr/local/bin/codegen", c.Host().File(in.Codegen))

	// Warm the standard library and the SDK's dependency graph once here, so each module
	// load compiles only the module itself.
	warm := base.
		WithExec([]string{"go", "build", "std"}).
		WithDirectory("/sdk", c.Host().Directory(in.SDKSource)).
		WithExec([]string{"go", "list", "-C", "/sdk", "-e", "-export=true", "-compiled=true", "-deps=true", "-test=false", "."})

	image := base.
		WithDirectory("/go/pkg/mod", warm.Directory("/go/pkg/mod")).
		WithDirectory("/root/.cache/go-build", warm.Directory("/root/.cache/go-build"))

	if _, err := image.Export(ctx, out, dagger.ContainerExportOpts{
		ForcedCompression: dagger.ImageLayerCompressionZstd,
		MediaTypes:        dagger.ImageMediaTypesOcimediaTypes,
	}); err != nil {
		return fmt.Errorf("export the Go SDK runtime image to %s: %w", out, err)
	}
	return nil
}
