package build

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"dagger.io/dagger"
)

// DefaultCacheDir is where pipelines keep what they download and build on the client
// side: verified source archives, seed and builder images. It is outside any clone so
// every checkout and CI run shares it.
const DefaultCacheDir = "/var/cache/guestforge"

// DefaultKeyring verifies the Debian archive's InRelease files.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// Pipeline carries what every pipeline step needs: the session and the client-side cache.
type Pipeline struct {
	Client *dagger.Client
	// CacheDir holds images/, src/ and debs/; see DefaultCacheDir.
	CacheDir string
	// Keyring is the OpenPGP keyring for the Debian archive; see DefaultKeyring.
	Keyring string
	Log     *slog.Logger
	// Perturb, when set, runs every builder container in another environment (perturb.go).
	Perturb *Perturbation
}

// New returns a Pipeline over c with the default cache and keyring (overridable with
// GUESTFORGE_CACHE_DIR and GUESTFORGE_DEBIAN_KEYRING) logging to logOut.
func New(c *dagger.Client, logOut io.Writer) *Pipeline {
	p := &Pipeline{Client: c, CacheDir: DefaultCacheDir, Keyring: DefaultKeyring}
	if d := os.Getenv("GUESTFORGE_CACHE_DIR"); d != "" {
		p.CacheDir = d
	}
	if k := os.Getenv("GUESTFORGE_DEBIAN_KEYRING"); k != "" {
		p.Keyring = k
	}
	if logOut == nil {
		logOut = io.Discard
	}
	p.Log = slog.New(slog.NewTextHandler(logOut, nil))
	return p
}

func (p *Pipeline) dir(parts ...string) string {
	return filepath.Join(append([]string{p.CacheDir}, parts...)...)
}
