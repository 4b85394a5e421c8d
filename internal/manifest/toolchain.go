// Package manifest loads and validates toolchain.yaml and images/*.yaml.
// It is the only parser of those files. Every problem is reported, all at
// once, as an Error carrying file:line:column and what to do about it.
package manifest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/boundedio"
)

// MaxManifestBytes bounds toolchain.yaml and images/*.yaml: the real ones
// are a few KiB, so anything near this is not a manifest.
const MaxManifestBytes = 4 * boundedio.MiB

// Load reads and validates toolchain.yaml.
func Load(path string) (*Toolchain, error) {
	data, err := boundedio.ReadFileLimit(path, MaxManifestBytes, "a manifest")
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w (pass --manifest PATH to point at toolchain.yaml)", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a manifest held in memory; path is used in
// errors only. On failure the error is an Errors listing every problem and
// the returned Toolchain is nil.
func Parse(path string, data []byte) (*Toolchain, error) {
	p := &toolchainParser{walker: walker{file: path}, t: &Toolchain{Path: path}}
	root := p.document(data)
	if root != nil {
		p.top(root)
		p.crossCheck()
	}
	if err := p.errs.orNil(); err != nil {
		return nil, err
	}
	p.t.Source = slices.Clone(data)
	return p.t, nil
}

// exceptionRef remembers where an exception's name and allow were written.
type exceptionRef struct{ name, allow *yaml.Node }

type toolchainParser struct {
	walker
	t *Toolchain
	// Nodes kept for checks that need the whole file (names defined later).
	exceptionRefs []exceptionRef
	targetArchs   []*yaml.Node
	archNodes     map[string]*yaml.Node
	archesOK      bool
	measureNodes  []*yaml.Node // every target's measure: block
}

func (p *toolchainParser) top(root *yaml.Node) {
	t := p.t
	p.mapping(root, "manifest", []field{
		{key: "epoch", required: true, example: "epoch: 1767225600", fn: func(_, v *yaml.Node) {
			if n, ok := p.integer(v, "epoch"); ok {
				// Year 9999 bounds it so SOURCE_DATE_EPOCH stays a valid date everywhere.
				if n <= 0 || n > 253402300799 {
					p.errorf(v, "epoch %d is out of range: write seconds since 1970, from 1 to 253402300799 (9999-12-31), e.g. 1767225600 for 2026-01-01", n)
				}
				t.Epoch = n
			}
		}},
		{key: "release", fn: func(_, v *yaml.Node) { p.release(v) }},
		{key: "policy", required: true, example: "policy: {lag: 2, exceptions: []}", fn: func(k, v *yaml.Node) {
			t.Policy.Line = k.Line
			p.policy(v)
		}},
		{key: "toolchains", required: true, example: `toolchains: {go: {version: "1.26.8", feed: go}}`, fn: func(_, v *yaml.Node) { p.toolchains(v) }},
		{key: "kernel", required: true, example: `kernel: {version: "6.12.117", url: ..., sha256: ..., feed: kernel}`, fn: func(_, v *yaml.Node) { p.kernel(v) }},
		{key: "firmware", example: `firmware: {edk2: {version: "2025.02", url: ..., sha256: ..., feed: edk2}}`, fn: func(_, v *yaml.Node) { p.firmware(v) }},
		{key: "distro", required: true, example: "distro: {name: debian, suite: bookworm, mirror: \"http://deb.debian.org/debian\"}", fn: func(_, v *yaml.Node) {
			t.Distro = p.distro(v, "distro", true)
		}},
		{key: "builders", fn: func(_, v *yaml.Node) { p.builders(v) }},
		{key: "architectures", required: true, example: "architectures: [x86_64, aarch64]", fn: func(_, v *yaml.Node) { p.architectures(v) }},
		{key: "targets", required: true, example: "targets: [{arch: x86_64, variant: default, images: [default], status: supported, maintainers: [\"@team\"]}]", fn: func(_, v *yaml.Node) { p.targets(v) }},
	})
}

func (p *toolchainParser) release(v *yaml.Node) {
	r := &p.t.Release
	p.mapping(v, "release", []field{
		{key: "day", required: true, example: "day: 15", fn: func(_, v *yaml.Node) {
			if n, ok := p.integer(v, "release.day"); ok {
				// 28 so that every month has the day.
				if n < 1 || n > 28 {
					p.errorf(v, "release.day %d is out of range: write a day of month from 1 to 28", n)
				}
				r.Day = int(n)
			}
		}},
		{key: "registry", required: true, example: "registry: ghcr.io/org/repo", fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, "release.registry"); ok {
				if strings.Contains(s, "://") || strings.ContainsAny(s, "@ ") || s != strings.ToLower(s) {
					p.errorf(v, "release.registry %q is not an OCI repository: write host/path without scheme, tag or digest, in lowercase, e.g. ghcr.io/guestforge/guest-images", s)
				}
				r.Registry = s
			}
		}},
	})
}

func (p *toolchainParser) policy(v *yaml.Node) {
	pol := &p.t.Policy
	p.mapping(v, "policy", []field{
		{key: "lag", required: true, example: "lag: 2", fn: func(_, v *yaml.Node) {
			if n, ok := p.integer(v, "policy.lag"); ok {
				if n < 0 || n > 100 {
					p.errorf(v, "policy.lag %d is out of range: write how many minor releases a pin may trail the latest, from 0 to 100 (0 = latest only; 2 = N-2)", n)
				}
				pol.Lag = int(n)
			}
		}},
		{key: "exceptions", fn: func(_, v *yaml.Node) {
			items, ok := p.list(v, "policy.exceptions")
			if !ok {
				return
			}
			for i, it := range items {
				p.exception(i, it)
			}
		}},
	})
}

func (p *toolchainParser) exception(i int, n *yaml.Node) {
	what := fmt.Sprintf("policy.exceptions[%d]", i)
	e := Exception{Line: n.Line, Column: n.Column, Index: i}
	var nameNode, allowNode *yaml.Node
	ok := p.mapping(n, what, []field{
		{key: "name", required: true, example: "name: rust", fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, what+".name"); ok {
				e.Name, nameNode = s, v
			}
		}},
		{key: "allow", required: true, example: `allow: "1.95.0"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, what+".allow"); ok {
				e.Allow, allowNode = s, v
			}
		}},
		{key: "until", required: true, example: `until: "2027-01-31"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.date(v, what+".until"); ok {
				e.Until = s
			}
		}},
		{key: "reason", required: true, example: `reason: "why the pin cannot move yet"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, what+".reason"); ok {
				e.Reason = s
			}
		}},
	})
	if !ok {
		return
	}
	if nameNode != nil {
		p.exceptionRefs = append(p.exceptionRefs, exceptionRef{name: nameNode, allow: allowNode})
	}
	p.t.Policy.Exceptions = append(p.t.Policy.Exceptions, e)
}

func (p *toolchainParser) toolchains(v *yaml.Node) {
	if !p.noAlias(v, "toolchains") {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "toolchains must be a mapping of name: {version, feed}, not %s", describe(v))
		return
	}
	p.t.Toolchains = map[string]Pin{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, "toolchains: names must be plain words, not %s", describe(k))
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			p.errorf(k, "toolchains: %q appears twice (first at line %d): remove one", name, first.Line)
			continue
		}
		seen[name] = k
		if !nameRe.MatchString(name) {
			p.errorf(k, "toolchains: name %q must be lowercase letters, digits, - or _, starting with a letter", name)
			continue
		}
		if name == KernelName {
			p.errorf(k, "toolchains: %q is reserved for the top-level kernel: block; move it there", name)
			continue
		}
		what := "toolchains." + name
		pin := Pin{Name: name}
		p.mapping(val, what, []field{
			{key: "version", required: true, example: `version: "1.26.8"`, fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".version"); ok {
					if err := checkRelease(s); err != nil {
						p.errorf(v, "%s: %v", what+".version", err)
					}
					pin.Version, pin.Line, pin.Column = s, v.Line, v.Column
				}
			}},
			{key: "feed", required: true, example: "feed: " + name, fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".feed"); ok {
					switch {
					case !slices.Contains(ToolchainFeeds, s):
						p.errorf(v, "%s.feed: unknown feed %q%s", what, s, suggestValue(s, ToolchainFeeds))
					case slices.Contains(ToolchainFeeds, name) && s != name:
						// Checking go against Rust's releases would pass or
						// fail on numbers that mean nothing for go.
						p.errorf(v, "%s.feed: %s is checked against the %s feed, not %s: write feed: %s", what, name, name, s, name)
					}
					pin.Feed = s
				}
			}},
		})
		p.t.Toolchains[name] = pin
	}
}

func (p *toolchainParser) kernel(v *yaml.Node) {
	k := &p.t.Kernel
	var urlNode *yaml.Node
	p.mapping(v, "kernel", []field{
		{key: "version", required: true, example: `version: "6.12.117"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, "kernel.version"); ok {
				if err := checkKernelVersion(s); err != nil {
					p.errorf(v, "kernel.version: %v", err)
				}
				k.Version, k.Line, k.Column = s, v.Line, v.Column
			}
		}},
		{key: "url", required: true, example: `url: "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.12.117.tar.xz"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, "kernel.url"); ok {
				if err := checkHTTPURL(s); err != nil {
					p.errorf(v, "kernel.url: %v: write where the source archive is downloaded from", err)
					return
				}
				k.URL, urlNode = s, v
			}
		}},
		{key: "sha256", required: true, example: `sha256: "<64 hex digits>"`, fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, "kernel.sha256"); ok {
				if err := checkSHA256(s); err != nil {
					p.errorf(v, "kernel.sha256: %v", err)
				}
				k.SHA256 = s
			}
		}},
		{key: "feed", required: true, example: "feed: kernel", fn: func(_, v *yaml.Node) {
			if s, ok := p.nonEmpty(v, "kernel.feed"); ok {
				if s != FeedKernel {
					p.errorf(v, "kernel.feed: unknown feed %q: the kernel is checked against kernel.org releases, write feed: kernel", s)
				}
				k.Feed = s
			}
		}},
	})
	// A version bump without a new url and sha256 would build the old source
	// under the new name; both archive kinds we use name the version.
	if urlNode != nil && k.Version != "" && !strings.Contains(k.URL, k.Version) {
		p.errorf(urlNode, "kernel.url does not mention version %s: update url and sha256 together with kernel.version", k.Version)
	}
}

// firmware reads firmware: {edk2: {version, url, sha256, patches: {url, sha256}, feed}}.
func (p *toolchainParser) firmware(v *yaml.Node) {
	e := &p.t.Firmware.Edk2
	p.mapping(v, "firmware", []field{{key: "edk2", required: true, example: `edk2: {version: "2025.02", url: ..., sha256: ..., feed: edk2}`, fn: func(_, v *yaml.Node) {
		var urlNode *yaml.Node
		p.mapping(v, "firmware.edk2", []field{
			{key: "version", required: true, example: `version: "2025.02"`, fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, "firmware.edk2.version"); ok {
					if err := checkEdk2Version(s); err != nil {
						p.errorf(v, "firmware.edk2.version: %v", err)
					}
					e.Version, e.Line, e.Column = s, v.Line, v.Column
				}
			}},
			{key: "url", required: true, example: `url: "http://deb.debian.org/debian/pool/main/e/edk2/edk2_2025.02.orig.tar.xz"`, fn: func(_, v *yaml.Node) {
				e.URL, urlNode = p.archiveURL(v, "firmware.edk2.url"), v
			}},
			{key: "sha256", required: true, example: `sha256: "<64 hex digits>"`, fn: func(_, v *yaml.Node) {
				e.SHA256 = p.sha256(v, "firmware.edk2.sha256")
			}},
			{key: "patches", example: `patches: {url: ".../edk2_2025.02-8+deb13u1.debian.tar.xz", sha256: ...}`, fn: func(_, v *yaml.Node) {
				p.mapping(v, "firmware.edk2.patches", []field{
					{key: "url", required: true, example: `url: ".../edk2_2025.02-8+deb13u1.debian.tar.xz"`, fn: func(_, v *yaml.Node) {
						e.PatchesURL = p.archiveURL(v, "firmware.edk2.patches.url")
					}},
					{key: "sha256", required: true, example: `sha256: "<64 hex digits>"`, fn: func(_, v *yaml.Node) {
						e.PatchesSHA256 = p.sha256(v, "firmware.edk2.patches.sha256")
					}},
				})
			}},
			{key: "feed", required: true, example: "feed: edk2", fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, "firmware.edk2.feed"); ok {
					if s != FeedEdk2 {
						p.errorf(v, "firmware.edk2.feed: unknown feed %q: edk2 is checked against its stable releases, write feed: edk2", s)
					}
					e.Feed = s
				}
			}},
		})
		// As with the kernel: a new version without a new url would build the old source.
		if urlNode != nil && checkEdk2Version(e.Version) == nil && e.URL != "" && !strings.Contains(e.URL, e.Version) && !strings.Contains(e.URL, strings.TrimPrefix(e.Tag(), "edk2-")) {
			p.errorf(urlNode, "firmware.edk2.url does not mention version %s (or %s): update url and sha256 together with firmware.edk2.version", e.Version, e.Tag())
		}
	}}})
}

// archiveURL reads a source archive's http(s) URL.
func (p *toolchainParser) archiveURL(v *yaml.Node, what string) string {
	s, ok := p.nonEmpty(v, what)
	if !ok {
		return ""
	}
	if err := checkHTTPURL(s); err != nil {
		p.errorf(v, "%s: %v: write where the archive is downloaded from", what, err)
		return ""
	}
	return s
}

// sha256 reads a lowercase hex SHA-256.
func (p *toolchainParser) sha256(v *yaml.Node, what string) string {
	s, ok := p.nonEmpty(v, what)
	if ok {
		if err := checkSHA256(s); err != nil {
			p.errorf(v, "%s: %v", what, err)
		}
	}
	return s
}

// distro reads toolchain.yaml's {name, suite, mirror, feed} block.
func (p *toolchainParser) distro(v *yaml.Node, what string, needMirror bool) Distro {
	return readDistro(&p.walker, v, what, needMirror, true)
}

// readDistro reads a {name, suite, mirror} block; mirror is optional for
// images, and only the toolchain's block (withFeed) names the policy feed.
func readDistro(w *walker, v *yaml.Node, what string, needMirror, withFeed bool) Distro {
	var d Distro
	fields := []field{
		{key: "name", required: true, example: "name: debian", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, what+".name"); ok {
				// mmdebstrap builds every rootfs and builder image.
				if s != "debian" {
					w.errorf(v, "%s.name: unsupported distro %q: only debian is supported (rootfs and builders are made by mmdebstrap)", what, s)
				}
				d.Name = s
			}
		}},
		{key: "suite", required: true, example: "suite: bookworm", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, what+".suite"); ok {
				if !nameRe.MatchString(s) {
					w.errorf(v, "%s.suite %q is not a Debian suite name: write a codename such as bookworm or trixie", what, s)
				}
				d.Suite = s
				d.Line = v.Line
			}
		}},
		{key: "mirror", required: needMirror, example: `mirror: "http://deb.debian.org/debian"`, fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, what+".mirror"); ok {
				if err := checkHTTPURL(s); err != nil {
					w.errorf(v, "%s.mirror: %v", what, err)
				}
				d.Mirror = s
			}
		}},
	}
	if withFeed {
		fields = append(fields, field{key: "feed", example: "feed: debian", fn: func(_, v *yaml.Node) {
			if s, ok := w.nonEmpty(v, what+".feed"); ok {
				if s != FeedDebian {
					w.errorf(v, "%s.feed: unknown feed %q: the suite is checked against the Debian releases on the mirror, write feed: debian", what, s)
				}
				d.Feed = s
			}
		}})
	}
	w.mapping(v, what, fields)
	return d
}

func (p *toolchainParser) builders(v *yaml.Node) {
	if !p.noAlias(v, "builders") {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "builders must be a mapping of name: {packages: [...]}, not %s", describe(v))
		return
	}
	p.t.Builders = map[string]Builder{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" || !nameRe.MatchString(k.Value) {
			p.errorf(k, "builders: name must be a lowercase word, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "builders: %q appears twice (first at line %d): remove one", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		what := "builders." + k.Value
		var b Builder
		p.mapping(val, what, []field{
			{key: "packages", required: true, example: "packages: [gcc, make]", fn: func(_, v *yaml.Node) {
				b.Packages = packageList(&p.walker, v, what+".packages")
			}},
			{key: "digest", fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".digest"); ok {
					if !digestRefRe.MatchString(s) {
						p.errorf(v, "%s.digest %q is not a digest-pinned image: write repo@sha256:<64 hex>", what, s)
					}
					b.Digest = s
				}
			}},
		})
		p.t.Builders[k.Value] = b
	}
}

// packageList reads a non-empty list of Debian package names.
func packageList(w *walker, v *yaml.Node, what string) []string {
	pkgs, ok := w.strList(v, what)
	if !ok {
		return pkgs
	}
	if len(pkgs) == 0 {
		w.errorf(v, "%s is empty: list at least one Debian package", what)
	}
	items, _ := w.list(v, what)
	for i, s := range pkgs {
		if !debPackageRe.MatchString(s) {
			w.errorf(items[i], "%s: %q is not a Debian package name (lowercase letters, digits, + - .)", what, s)
		}
	}
	return pkgs
}

func (p *toolchainParser) architectures(v *yaml.Node) {
	items, ok := p.list(v, "architectures")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(v, "architectures is empty: list at least one of %s", strings.Join(arch.Names(), ", "))
		return
	}
	p.archNodes = map[string]*yaml.Node{}
	p.archesOK = true
	for i, it := range items {
		s, ok := p.nonEmpty(it, fmt.Sprintf("architectures[%d]", i))
		if !ok {
			p.archesOK = false
			continue
		}
		a, err := arch.Parse(s)
		if err != nil {
			p.errorf(it, "architectures: %v", err)
			p.archesOK = false
			continue
		}
		if first, dup := p.archNodes[a.Name]; dup {
			p.errorf(it, "architectures: %q is %s, already listed at line %d: remove one", s, a.Name, first.Line)
			continue
		}
		p.archNodes[a.Name] = it
		p.t.Architectures = append(p.t.Architectures, a.Name)
	}
}

func (p *toolchainParser) targets(v *yaml.Node) {
	items, ok := p.list(v, "targets")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(v, "targets is empty: list at least one {arch, variant, images, status, maintainers}")
		return
	}
	seen := map[string]*yaml.Node{}
	for i, it := range items {
		what := fmt.Sprintf("targets[%d]", i)
		t := Target{Line: it.Line, Column: it.Column}
		var archNode, variantNode, statusNode, measureNode *yaml.Node
		ok := p.mapping(it, what, []field{
			{key: "arch", required: true, example: "arch: x86_64", fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".arch"); ok {
					a, err := arch.Parse(s)
					if err != nil {
						p.errorf(v, "%s.arch: %v", what, err)
						return
					}
					t.Arch, archNode = a.Name, v
				}
			}},
			{key: "variant", required: true, example: "variant: default", fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".variant"); ok {
					if !nameRe.MatchString(s) {
						p.errorf(v, "%s.variant %q must be a lowercase word (it names kernel-configs/variants/<name>)", what, s)
					}
					t.Variant, variantNode = s, v
				}
			}},
			{key: "images", required: true, example: "images: [default]", fn: func(_, v *yaml.Node) {
				imgs, ok := p.strList(v, what+".images")
				if ok && len(imgs) == 0 {
					p.errorf(v, "%s.images is empty: list at least one image (images/<name>.yaml)", what)
				}
				items, _ := p.list(v, what+".images")
				for j, s := range imgs {
					if ok && !nameRe.MatchString(s) {
						p.errorf(items[j], "%s.images: %q must be a lowercase word (it names images/<name>.yaml)", what, s)
					}
				}
				t.Images = imgs
			}},
			{key: "status", required: true, example: "status: supported", fn: func(_, v *yaml.Node) {
				if s, ok := p.nonEmpty(v, what+".status"); ok {
					if !slices.Contains(Statuses, s) {
						p.errorf(v, "%s.status: unknown status %q%s", what, s, suggestValue(s, Statuses))
						return
					}
					t.Status, statusNode = s, v
				}
			}},
			{key: "maintainers", required: true, example: `maintainers: ["@org/team"]`, fn: func(_, v *yaml.Node) {
				ms, ok := p.strList(v, what+".maintainers")
				items, _ := p.list(v, what+".maintainers")
				for j, m := range ms {
					if ok && !maintainerRe.MatchString(m) {
						p.errorf(items[j], "%s.maintainers: %q is not a GitHub handle: write @user or @org/team", what, m)
					}
				}
				t.Maintainers = ms
			}},
			{key: "deprecated_since", example: `deprecated_since: "2026-09-15"`, fn: func(_, v *yaml.Node) {
				if s, ok := p.date(v, what+".deprecated_since"); ok {
					t.DeprecatedSince = s
				}
			}},
			{key: "removal_date", example: `removal_date: "2027-03-15"`, fn: func(_, v *yaml.Node) {
				if s, ok := p.date(v, what+".removal_date"); ok {
					t.RemovalDate = s
				}
			}},
			{key: "measure", example: "measure: {vcpus: [1, 2], snp_cpu_types: [EPYC-Genoa], snp_guest_features: [0x1], tdx_page_orders: [per-page]}", fn: func(_, v *yaml.Node) {
				t.Measure = p.measure(v, what+".measure")
				measureNode = v
			}},
		})
		if !ok {
			continue
		}
		if statusNode != nil {
			p.lifecycle(what, it, statusNode, t)
		}
		if t.Measure != nil && archNode != nil {
			p.measureArch(what+".measure", measureNode, t)
			p.measureNodes = append(p.measureNodes, measureNode)
		}
		if archNode != nil {
			p.targetArchs = append(p.targetArchs, archNode)
		}
		if archNode != nil && variantNode != nil {
			key := t.Arch + "/" + t.Variant
			if first, dup := seen[key]; dup {
				p.errorf(it, "%s: duplicate target %s variant %s (first at line %d): merge the two entries", what, t.Arch, t.Variant, first.Line)
			} else {
				seen[key] = it
			}
		}
		p.t.Targets = append(p.t.Targets, t)
	}
}

// lifecycle checks the dates and maintainers that a target's status requires.
func (p *toolchainParser) lifecycle(what string, n, statusNode *yaml.Node, t Target) {
	switch t.Status {
	case StatusSupported, StatusExperimental:
		if t.DeprecatedSince != "" || t.RemovalDate != "" {
			p.errorf(statusNode, "%s: a %s target has no deprecated_since/removal_date: set status: deprecated or remove the dates", what, t.Status)
		}
		if len(t.Maintainers) == 0 {
			p.errorf(n, "%s: a %s target needs at least one maintainer: add maintainers: [\"@org/team\"]", what, t.Status)
		}
	case StatusDeprecated:
		if t.DeprecatedSince == "" || t.RemovalDate == "" {
			p.errorf(statusNode, "%s: a deprecated target needs deprecated_since and removal_date (YYYY-MM-DD): add both so users know when it goes", what)
			return
		}
		since, err1 := time.Parse(dateLayout, t.DeprecatedSince)
		removal, err2 := time.Parse(dateLayout, t.RemovalDate)
		if err1 == nil && err2 == nil && !removal.After(since) {
			p.errorf(statusNode, "%s: removal_date %s is not after deprecated_since %s: give users time between the two", what, t.RemovalDate, t.DeprecatedSince)
		}
	case StatusRemoved:
		if t.RemovalDate == "" {
			p.errorf(statusNode, "%s: a removed target needs removal_date (YYYY-MM-DD): add when it was removed", what)
		}
	}
}

// crossCheck validates references between sections, which may come in any order.
func (p *toolchainParser) crossCheck() {
	t := p.t
	names := []string{KernelName, DistroName}
	if t.Firmware.Edk2.Version != "" {
		names = append(names, Edk2Name)
	}
	for name := range t.Toolchains {
		names = append(names, name)
	}
	slices.Sort(names)
	seen := map[string]*yaml.Node{}
	for _, ref := range p.exceptionRefs {
		n, name := ref.name, ref.name.Value
		if ref.allow != nil {
			p.checkAllow(name, ref.allow)
		}
		if first, dup := seen[name]; dup {
			p.errorf(n, "policy.exceptions: a second exception for %q (first at line %d): keep one per pin", name, first.Line)
			continue
		}
		seen[name] = n
		if !slices.Contains(names, name) && !IsModulePath(name) {
			p.errorf(n, "policy.exceptions: %q is not a toolchain: name one of %s or a module path from go.mod%s",
				name, strings.Join(names, ", "), suggestValue(name, names))
		}
	}
	// A measured launch starts from the firmware's bytes: without a pinned edk2
	// there is nothing to build them from.
	if t.Firmware.Edk2.Version == "" {
		for _, n := range p.measureNodes {
			p.errorf(n, "a target with measure: needs firmware.edk2 (the pinned edk2 source its OVMF is built from): add firmware: {edk2: {version, url, sha256, feed: edk2}}")
		}
	}
	if p.archesOK {
		for _, n := range p.targetArchs {
			a, _ := arch.Parse(n.Value)
			if _, ok := p.archNodes[a.Name]; !ok {
				p.errorf(n, "target arch %s is not listed in architectures: add it there or remove the target", a.Name)
			}
		}
	}
}

// checkAllow validates an exception's allow version in the format of the pin it names.
func (p *toolchainParser) checkAllow(name string, n *yaml.Node) {
	var err error
	switch {
	case name == KernelName:
		err = checkKernelVersion(n.Value)
	case name == Edk2Name:
		err = checkEdk2Version(n.Value)
	case name == DistroName:
		// An exception keeps an older suite: allow names the oldest one.
		if !nameRe.MatchString(n.Value) {
			err = fmt.Errorf("%q is not a Debian suite: write a codename such as bookworm", n.Value)
		}
	case IsModulePath(name):
		err = checkModuleVersion(n.Value)
	default:
		if _, known := p.t.Toolchains[name]; !known {
			return // the name itself is reported
		}
		err = checkRelease(n.Value)
	}
	if err != nil {
		p.errorf(n, "policy.exceptions: allow for %s: %v", name, err)
	}
}

// suggestValue renders "did you mean" for a value close to an allowed one.
func suggestValue(got string, allowed []string) string {
	s := suggest(got, allowed)
	if strings.HasPrefix(s, ": did you mean") {
		return s
	}
	return ": use one of " + strings.Join(allowed, ", ")
}
