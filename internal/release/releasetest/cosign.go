package releasetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// emptyTrustedRoot is a Sigstore trusted root with no CA, log or TSA. With
// --key it is all cosign needs to check a bundle offline: the key is the
// only anchor, and without --trusted-root cosign would try to fetch the
// public-good root over TUF, which is unreachable here.
const emptyTrustedRoot = `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

// EmptyTrustedRoot writes emptyTrustedRoot into a temporary file.
func EmptyTrustedRoot(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, []byte(emptyTrustedRoot), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Cosign runs the pinned upstream cosign CLI with a private HOME (its TUF
// cache and config stay in the test's temp dir) and extra environment, and
// returns its combined output.
func Cosign(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	bin := Tool(t, "cosign")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, ".sigstore"), "DOCKER_CONFIG="+home)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
