package build

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/fetch"
	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// ImagesDir holds one <name>.yaml per guest image and their files/ overlays.
const ImagesDir = "images"

// imageDef is an image definition read from a checkout, with what the client needs to
// finish its rootfs: the overlay and the YAML text (to point errors at lines).
type imageDef struct {
	*manifest.Image
	// File is the definition's path in the checkout (images/<name>.yaml), for errors.
	File string
	// text is the YAML as written.
	text []byte
	// scratch holds the exported images/ directory; Overlay is inside it.
	scratch string
}

func (d *imageDef) cleanup() {
	if d.scratch != "" {
		os.RemoveAll(d.scratch)
	}
}

// loadImage reads images/<name>.yaml from the checkout in the engine (the same for a
// local checkout and a Dagger module's source argument): images/ is exported to a
// scratch directory so internal/manifest validates it, overlay included, as on disk.
func (p *Pipeline) loadImage(ctx context.Context, repo *Repo, name string) (*imageDef, error) {
	if !regexp.MustCompile(`^[a-z][a-z0-9_-]*$`).MatchString(name) {
		return nil, fmt.Errorf("image name %q: use the base name of a file in %s/ (e.g. default)", name, ImagesDir)
	}
	rel := path.Join(ImagesDir, name+".yaml")
	scratch, err := os.MkdirTemp("", "guestforge-images-")
	if err != nil {
		return nil, err
	}
	d := &imageDef{File: rel, scratch: scratch}
	if _, err := repo.Dir.Directory(ImagesDir).Export(ctx, filepath.Join(scratch, ImagesDir)); err != nil {
		d.cleanup()
		return nil, fmt.Errorf("read %s/ from the checkout: %w", ImagesDir, err)
	}
	local := filepath.Join(scratch, filepath.FromSlash(rel))
	d.text, err = os.ReadFile(local)
	if err != nil {
		d.cleanup()
		known, _ := filepath.Glob(filepath.Join(scratch, ImagesDir, "*.yaml"))
		var names []string
		for _, k := range known {
			names = append(names, strings.TrimSuffix(filepath.Base(k), ".yaml"))
		}
		return nil, fmt.Errorf("no image %q: %s does not exist (images: %s)", name, rel, strings.Join(names, ", "))
	}
	img, err := manifest.LoadImage(local)
	if err != nil {
		d.cleanup()
		// Name the file as it is in the checkout, not in the scratch copy.
		return nil, errors.New(strings.ReplaceAll(err.Error(), scratch+string(filepath.Separator), ""))
	}
	d.Image = img
	return d, nil
}

// lineOf finds the first line of the definition that mentions word, for errors about
// values the manifest does not keep positions for (package names). 0 if none.
func (d *imageDef) lineOf(word string) int {
	re := regexp.MustCompile(`(^|[^a-z0-9+.-])` + regexp.QuoteMeta(word) + `($|[^a-z0-9+.-])`)
	sc := bufio.NewScanner(strings.NewReader(string(d.text)))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if re.MatchString(line) {
			return n
		}
	}
	return 0
}

// at is "file:line" for word, or the file alone.
func (d *imageDef) at(word string) string {
	if n := d.lineOf(word); n > 0 {
		return fmt.Sprintf("%s:%d", d.File, n)
	}
	return d.File
}

// agentBinary returns a host path of the agent binary the image asks for, for arch a:
// the boot probe built from the checkout, a file of the checkout (agent.path, relative
// to the image YAML), or a download pinned by sha256. Every failure names the image
// and what to fix, and happens before any rootfs is built.
func (p *Pipeline) agentBinary(ctx context.Context, repo *Repo, d *imageDef, a arch.Arch) (string, error) {
	ag := d.Agent
	switch {
	case ag.Bootprobe:
		return p.buildProbe(ctx, repo, a)
	case ag.Path != "":
		if filepath.IsAbs(ag.Path) {
			if st, err := os.Stat(ag.Path); err != nil || !st.Mode().IsRegular() {
				return "", fmt.Errorf("image %s: agent.path %s (%s) is not a file on this machine: build the agent first or fix the path", d.Name, ag.Path, d.at("path"))
			}
			return ag.Path, nil
		}
		rel := path.Clean(path.Join(ImagesDir, ag.Path))
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("image %s: agent.path %s (%s) leaves the checkout: keep the agent inside the repository or give an absolute path", d.Name, ag.Path, d.at("path"))
		}
		out := filepath.Join(d.scratch, "agent")
		if _, err := repo.Dir.File(rel).Export(ctx, out); err != nil {
			p.Log.Debug("agent.path export", "error", err)
			return "", fmt.Errorf("image %s: agent.path %s (%s): %s is not in the checkout: build the agent there first or fix the path", d.Name, ag.Path, d.at("path"), rel)
		}
		return out, nil
	case ag.URL != "":
		return p.downloadAgent(ctx, d, ag.URL, ag.SHA256)
	}
	return "", fmt.Errorf("image %s: agent names no source (%s): set agent.path, agent.url + sha256, or agent.bootprobe", d.Name, d.File)
}

// buildProbe builds cmd/bootprobe for a from the checkout's sources, the agent stand-in
// the tests and `release verify` boot. It is static and reproducible
// (internal/boot.BuildProbe), so images that embed it are too.
func (p *Pipeline) buildProbe(ctx context.Context, repo *Repo, a arch.Arch) (string, error) {
	src, err := os.MkdirTemp("", "guestforge-probe-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	// The probe's package and what it imports from the module, nothing else.
	for _, rel := range []string{"go.mod", "go.sum"} {
		if _, err := repo.Dir.File(rel).Export(ctx, filepath.Join(src, rel)); err != nil {
			return "", fmt.Errorf("build the boot probe: read %s from the checkout: %w", rel, err)
		}
	}
	for _, rel := range []string{"cmd/bootprobe", "internal/arch"} {
		if _, err := repo.Dir.Directory(rel).Export(ctx, filepath.Join(src, filepath.FromSlash(rel))); err != nil {
			return "", fmt.Errorf("build the boot probe: read %s/ from the checkout: %w", rel, err)
		}
	}
	tmp := p.dir("work", fmt.Sprintf(".bootprobe-%s-%d", a.Name, time.Now().UnixNano()))
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return "", err
	}
	start := time.Now()
	if err := boot.BuildProbe(ctx, a, tmp, src); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("image agent: %w", err)
	}
	out, err := contentAddress(tmp, "bootprobe-"+a.Name)
	if err != nil {
		return "", err
	}
	p.Log.Info("agent: boot probe built", "arch", a.Name, "path", out, "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// downloadAgent fetches a pinned agent into the client cache (agents/<sha256>), checking
// the digest before the file is used.
func (p *Pipeline) downloadAgent(ctx context.Context, d *imageDef, url, want string) (string, error) {
	want = strings.ToLower(want)
	dst := p.dir("agents", want)
	if got, _, err := sha256sum.File(dst); err == nil && got == want {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if err := fetch.Verified(ctx, fetch.Request{URL: url, SHA256: want, Max: maxAgent}, dst, cachePerm); err != nil {
		return "", agentDownloadError(d, url, err)
	}
	return dst, nil
}

// maxAgent bounds an agent download: kata-agent is tens of MiB.
const maxAgent = 1 * boundedio.GiB

// agentDownloadError names the image and what to fix for a failed agent download.
func agentDownloadError(d *imageDef, url string, err error) error {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Kind {
	case fetch.BadURL:
		return fmt.Errorf("image %s: agent.url %q: %w", d.Name, url, fe.Err)
	case fetch.Status:
		return fmt.Errorf("image %s: download the agent from %s: %s (%s)", d.Name, url, fe.Status, d.at("url"))
	case fetch.Mismatch:
		return fmt.Errorf("image %s: the agent at %s has sha256 %s, but %s pins %s: refusing to install it (fix the pin if the new agent is intended)", d.Name, url, fe.Got, d.at("sha256"), fe.Want)
	}
	return fmt.Errorf("image %s: download the agent from %s: %w", d.Name, url, fe.Err)
}

// contentAddress renames tmp to work/<prefix>-<sha256 prefix><ext> next to it and
// returns the new path. Client files handed to the engine are named by content, so a
// path never means two contents and a rebuild of the same bytes reuses the upload.
func contentAddress(tmp, prefix string) (string, error) {
	sum, _, err := sha256sum.File(tmp)
	if err != nil {
		return "", err
	}
	ext := ""
	if i := strings.Index(prefix, "."); i >= 0 {
		prefix, ext = prefix[:i], prefix[i:]
	}
	out := filepath.Join(filepath.Dir(tmp), prefix+"-"+sum[:20]+ext)
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	now := time.Now()
	_ = os.Chtimes(out, now, now) // pruneWork keeps what was used recently
	return out, nil
}

// pruneWork removes client work files nobody used for a day: finished rootfs
// tarballs and initrds of earlier builds (each is named by its content).
func (p *Pipeline) pruneWork() {
	entries, err := os.ReadDir(p.dir("work"))
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			os.RemoveAll(p.dir("work", e.Name()))
		}
	}
}
