// Package distconsts stands in for github.com/dagger/dagger/engine/distconsts at v0.19.10.
//
// Why this exists: dagger's go.mod replaces that module with ./engine/distconsts, a
// nested module that the Go module proxy neither serves nor ships inside the
// github.com/dagger/dagger zip. hack/airgap/engine.sh copies this directory into the
// unpacked source tree so the CLI and engine build from the proxy alone. The values
// are the ones the v0.19.10 engine image is built with; they only matter where the
// engine resolves its own bundled content (runc, dagger-init, the SDK images).
package distconsts

const (
	EngineContainerName   = "dagger-engine.dev"
	DefaultEngineSockAddr = "unix:///run/dagger/engine.sock"
)

const (
	RuncPath                           = "/usr/local/bin/runc"
	DaggerInitPath                     = "/usr/local/bin/dagger-init"
	EngineDefaultStateDir              = "/var/lib/dagger"
	EngineContainerBuiltinContentDir   = "/usr/local/share/dagger/content"
	GoSDKManifestDigestEnvName         = "DAGGER_GO_SDK_MANIFEST_DIGEST"
	PythonSDKManifestDigestEnvName     = "DAGGER_PYTHON_SDK_MANIFEST_DIGEST"
	TypescriptSDKManifestDigestEnvName = "DAGGER_TYPESCRIPT_SDK_MANIFEST_DIGEST"
)

const (
	AlpineVersion  = "3.22.1"
	AlpineImage    = "alpine:" + AlpineVersion
	GolangVersion  = "1.25.5"
	GolangImage    = "golang:" + GolangVersion + "-alpine"
	BusyboxVersion = "1.37.0"
	BusyboxImage   = "busybox:" + BusyboxVersion
)

// OCIVersionAnnotation labels an image with the engine version that built it.
const OCIVersionAnnotation = "org.opencontainers.image.version"

// EngineCustomCACertsDir is where the engine looks for extra CAs to install in containers.
const EngineCustomCACertsDir = "/usr/local/share/ca-certificates"
