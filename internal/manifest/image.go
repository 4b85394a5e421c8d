package manifest

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestforge/guestforge/internal/boundedio"
)

// Inits are the allowed values of an image's init: the agent is PID 1
// ("agent"), or systemd is PID 1 and starts the agent as a unit.
var Inits = []string{"agent", "systemd"}

// mmdebstrapVariants are the values mmdebstrap(1) accepts for --variant.
var mmdebstrapVariants = []string{"extract", "custom", "essential", "apt", "required", "minbase", "buildd", "important", "debootstrap", "standard"}

// LoadImage reads and validates one images/<name>.yaml. Relative paths in it
// (files:) are resolved against the directory holding the YAML.
func LoadImage(file string) (*Image, error) {
	data, err := boundedio.ReadFileLimit(file, MaxManifestBytes, "a manifest")
	if err != nil {
		return nil, fmt.Errorf("read image definition: %w", err)
	}
	return ParseImage(file, data)
}

// ParseImage validates an image definition held in memory; file names it in
// errors and anchors files: (which must exist on disk).
func ParseImage(file string, data []byte) (*Image, error) {
	w := &walker{file: file}
	img := &Image{Path: file}
	if root := w.document(data); root != nil {
		parseImage(w, root, img)
	}
	if err := w.errs.orNil(); err != nil {
		return nil, err
	}
	return img, nil
}

func parseImage(w *walker, root *yaml.Node, img *Image) {
	base := strings.TrimSuffix(filepath.Base(img.Path), filepath.Ext(img.Path))
	w.mapping(root, "image", []field{
		{key: "name", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "name"); ok {
				// Targets refer to images by file name; a different name
				// inside would make the same image answer to two names.
				if s != base {
					w.errorf(v, "name %q differs from the file name %q: remove name: or rename the file to %s.yaml", s, base, s)
				}
				img.Name = s
			}
		}},
		{key: "distro", required: true, example: "distro: {name: debian, suite: bookworm}", fn: func(_, v *yaml.Node) {
			img.Distro = readDistro(w, v, "distro", false, false)
		}},
		{key: "variant", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "variant"); ok {
				if !slices.Contains(mmdebstrapVariants, s) {
					w.errorf(v, "variant: %q is not an mmdebstrap variant%s", s, suggestValue(s, mmdebstrapVariants))
				}
				img.Variant = s
			}
		}},
		{key: "packages", required: true, example: "packages: [ca-certificates]", fn: func(_, v *yaml.Node) {
			img.Packages = packageList(w, v, "packages")
		}},
		{key: "init", required: true, example: "init: agent", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "init"); ok {
				if !slices.Contains(Inits, s) {
					w.errorf(v, "init: %q is not an init mode: write agent (the agent is PID 1) or systemd (systemd starts the agent)", s)
				}
				img.Init = s
			}
		}},
		{key: "agent", required: true, example: "agent: {bootprobe: true}", fn: func(_, v *yaml.Node) {
			img.Agent = parseAgent(w, v)
		}},
		{key: "files", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "files"); ok {
				img.Files = s
				checkFilesDir(w, v, img)
			}
		}},
		{key: "delete", fn: func(_, v *yaml.Node) {
			paths, ok := w.strList(v, "delete")
			items, _ := w.list(v, "delete")
			for i, s := range paths {
				if ok && (!path.IsAbs(s) || path.Clean(s) == "/") {
					w.errorf(items[i], "delete: %q must be an absolute path inside the rootfs (and not / itself)", s)
				}
			}
			img.Delete = paths
		}},
		{key: "budget", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "budget"); ok {
				n, err := ParseSize(s)
				if err != nil {
					w.errorf(v, "budget: %v", err)
				}
				img.Budget, img.BudgetBytes = s, n
			}
		}},
		{key: "owners", fn: func(_, v *yaml.Node) { img.Owners = parseOwners(w, v) }},
	})
	if img.Name == "" {
		img.Name = base
	}
}

// parseAgent reads agent: and checks it names exactly one source.
func parseAgent(w *walker, v *yaml.Node) Agent {
	var a Agent
	var urlNode, shaNode *yaml.Node
	ok := w.mapping(v, "agent", []field{
		{key: "path", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "agent.path"); ok {
				a.Path = s
			}
		}},
		{key: "url", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "agent.url"); ok {
				if err := checkHTTPURL(s); err != nil {
					w.errorf(v, "agent.url: %v", err)
				}
				a.URL, urlNode = s, v
			}
		}},
		{key: "sha256", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, "agent.sha256"); ok {
				if err := checkSHA256(s); err != nil {
					w.errorf(v, "agent.sha256: %v", err)
				}
				a.SHA256, shaNode = s, v
			}
		}},
		{key: "bootprobe", fn: func(_, v *yaml.Node) {
			if b, ok := w.boolean(v, "agent.bootprobe"); ok {
				if !b {
					w.errorf(v, "agent.bootprobe: false is not a source: remove the key, or set true to use cmd/bootprobe as the agent")
				}
				a.Bootprobe = b
			}
		}},
	})
	if !ok {
		return a
	}
	if urlNode != nil && shaNode == nil {
		w.errorf(urlNode, "agent.url needs agent.sha256 so the download is pinned: add sha256: <64 hex>")
	}
	if shaNode != nil && urlNode == nil {
		w.errorf(shaNode, "agent.sha256 without agent.url: add the url it pins, or remove it")
	}
	var sources []string
	if a.Path != "" {
		sources = append(sources, "path")
	}
	if a.URL != "" {
		sources = append(sources, "url")
	}
	if a.Bootprobe {
		sources = append(sources, "bootprobe")
	}
	switch len(sources) {
	case 0:
		w.errorf(v, "agent names no source: set exactly one of path, url (+ sha256) or bootprobe: true")
	case 1:
	default:
		w.errorf(v, "agent names %d sources (%s): keep exactly one", len(sources), strings.Join(sources, ", "))
	}
	return a
}

// checkFilesDir resolves files: against the YAML's directory (the repository's
// images/) and checks it names a directory below it, reached without a symlink: the
// overlay is copied into every guest, so a files: of ../../.ssh, or a files/ that
// links to /etc, would ship the host's files. Symlinks inside the overlay are fine:
// internal/build copies them as links (guest paths), never following them.
func checkFilesDir(w *walker, v *yaml.Node, img *Image) {
	if filepath.IsAbs(img.Files) {
		w.errorf(v, "files: %q must be relative to the image YAML, so the repository stays relocatable", img.Files)
		return
	}
	images := filepath.Dir(img.Path)
	dir := filepath.Join(images, filepath.FromSlash(img.Files))
	rel, err := filepath.Rel(images, dir)
	if rel == "." {
		w.errorf(v, "files: %q is %s itself, which holds the image YAMLs: point files: at a directory below it", img.Files, images)
		return
	}
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		w.errorf(v, "files: %q leaves %s: the overlay must be a directory below the image YAML's directory (e.g. files: %s-files)", img.Files, images, strings.TrimSuffix(filepath.Base(img.Path), filepath.Ext(img.Path)))
		return
	}
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		w.errorf(v, "files: overlay directory %s does not exist: create it or fix the path (it is relative to the image YAML)", dir)
		return
	case !st.IsDir():
		w.errorf(v, "files: %s is not a directory: point files: at the overlay directory", dir)
		return
	}
	realImages, errA := filepath.EvalSymlinks(images)
	realDir, errB := filepath.EvalSymlinks(dir)
	if errA != nil || errB != nil {
		w.errorf(v, "files: resolve %s: %v", dir, errors.Join(errA, errB))
		return
	}
	if realDir != filepath.Join(realImages, rel) {
		w.errorf(v, "files: %s is or passes through a symlink (to %s): the overlay must be a real directory below %s; replace the link with the directory", dir, realDir, images)
		return
	}
	img.FilesDir = dir
}

// parseOwners reads owners: {"/abs/path": "uid:gid"}.
func parseOwners(w *walker, v *yaml.Node) map[string]string {
	if !w.noAlias(v, "owners") {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		w.errorf(v, "owners must be a mapping of \"/path\": \"uid:gid\", not %s", describe(v))
		return nil
	}
	out := map[string]string{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		p, ok := w.nonEmpty(k, "owners key")
		if !ok {
			continue
		}
		if first, dup := seen[p]; dup {
			w.errorf(k, "owners: %q appears twice (first at line %d): remove one", p, first.Line)
			continue
		}
		seen[p] = k
		if !path.IsAbs(p) {
			w.errorf(k, "owners: %q must be an absolute path inside the image", p)
		}
		s, ok := w.nonEmpty(val, "owners."+p)
		if !ok {
			continue
		}
		if _, _, err := ParseOwner(s); err != nil {
			w.errorf(val, "owners.%s: %v", p, err)
		}
		out[p] = s
	}
	return out
}
