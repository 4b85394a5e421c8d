package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/fetch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// SHA256Mismatch is the error for an archive whose content is not the pinned one.
type SHA256Mismatch struct {
	What, Source string
	Want, Got    string
}

func (e *SHA256Mismatch) Error() string {
	return fmt.Sprintf("%s from %s has sha256 %s, but toolchain.yaml pins %s: refusing to build from it (fix the pin if the new archive is intended, else fetch the pinned one)",
		e.What, e.Source, e.Got, e.Want)
}

// KernelArchive returns the local path of toolchain.yaml's kernel archive, downloaded
// into the cache (or override, a local copy) and verified against its sha256. It needs
// no engine: hack/deps.sh fetches the kernel source for the kernelsrc tests with it.
func (p *Pipeline) KernelArchive(ctx context.Context, tc *manifest.Toolchain, override string) (string, error) {
	return p.verifiedArchive(ctx, "kernel "+tc.Kernel.Version+" archive", tc.Kernel.URL, tc.Kernel.SHA256, override)
}

// KernelSource is `release kernel-source`: the local path of the kernel archive that
// the manifest at manifestPath pins (KernelArchive), progress logged to logOut. A
// manifest that does not load is ErrBadInput.
func KernelSource(ctx context.Context, manifestPath, archive string, logOut io.Writer) (string, error) {
	tc, err := manifest.Load(manifestPath)
	if err != nil {
		return "", badInput(err)
	}
	return New(nil, logOut).KernelArchive(ctx, tc, archive)
}

// verifiedArchive returns a local file whose sha256 is want: override when given (a
// local copy for offline hosts), else a cached download of url. Nothing is built from
// an archive until this check passed.
func (p *Pipeline) verifiedArchive(ctx context.Context, what, url, want, override string) (string, error) {
	want = strings.ToLower(want)
	if override != "" {
		got, _, err := sha256sum.File(override)
		if err != nil {
			return "", fmt.Errorf("read %s archive %s: %w", what, override, err)
		}
		if got != want {
			return "", &SHA256Mismatch{What: what, Source: override, Want: want, Got: got}
		}
		return override, nil
	}
	dst := p.dir("src", want+"-"+path.Base(url))
	// A cached file is renamed into place only after its hash matched.
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("create the source cache: %w", err)
	}
	p.Log.Info("downloading", "what", what, "url", url)
	if err := fetch.Verified(ctx, fetch.Request{URL: url, SHA256: want, Max: maxArchive}, dst, cachePerm); err != nil {
		return "", archiveDownloadError(what, url, err)
	}
	return dst, nil
}

// maxArchive bounds a source archive download. A compressed kernel source is some
// 150 MiB and an uncompressed one under 2 GiB: anything longer is not the pin.
const maxArchive = 4 * boundedio.GiB

// cachePerm is the mode of downloads in the client cache: the user's own, as they
// have always been.
const cachePerm = 0o600

// archiveDownloadError says what to do about a failed archive download.
func archiveDownloadError(what, url string, err error) error {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Kind {
	case fetch.BadURL:
		return fmt.Errorf("%s url %q: %w", what, url, fe.Err)
	case fetch.Unreachable:
		return fmt.Errorf("download %s from %s: %w (offline? pass a local copy of the archive)", what, url, fe.Err)
	case fetch.Status:
		return fmt.Errorf("download %s from %s: %s", what, url, fe.Status)
	case fetch.Mismatch:
		return &SHA256Mismatch{What: what, Source: url, Want: fe.Want, Got: fe.Got}
	}
	return fmt.Errorf("download %s from %s: %w", what, url, fe.Err)
}
