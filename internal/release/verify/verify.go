// Package verify checks a release end to end, the way a consumer would:
// from a dist directory or from a registry reference (pulled back by
// digest). In order, and stopping at the first failure, which it names:
// the cosign signatures of the registry manifests (for a reference), the
// signature of SHA256SUMS, every file against SHA256SUMS, no unlisted file,
// every file's signature, the release version, the reference values of each
// confidential target (recomputed), provenance subjects, SBOMs, and finally a QEMU
// boot of each kernel with each initrd to the boot probe's line.
//
// Signatures are checked with the release public key, or, for a keyless
// release (GitHub Actions, Fulcio), against a certificate policy: the
// identity and OIDC issuer every certificate must carry, the trusted root
// it must chain to, and whether a transparency log entry is required
// (sign.CertPolicy).
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/guestforge/guestforge/internal/boot"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/provenance"
	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/refvals"
	"github.com/guestforge/guestforge/internal/release/sbom"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Options tune a verification.
type Options struct {
	// Key is the release public key (cosign.pub), for key-signed releases.
	Key *sign.KeyVerifier
	// Keyless, for keyless releases instead of Key, holds the certificate
	// policy: the expected identity (exact SAN or a regexp) and OIDC
	// issuer, the trusted root (CAs, logs) and whether a transparency log
	// entry is required (sign.NewCertVerifier). Exactly one of Key and
	// Keyless is set.
	Keyless *sign.CertVerifier
	// NoBoot skips the QEMU step (for trees without a bootable pair, or
	// hosts without QEMU).
	NoBoot bool
	// BootTimeout bounds each boot; zero means internal/boot's default.
	BootTimeout time.Duration
	// BootLog receives the guests' console output (optional).
	BootLog io.Writer
	// Boot runs one boot; nil means internal/boot.Run.
	Boot func(context.Context, boot.Config) (boot.Result, error)
	// Publish carries registry options (auth, transport, backoff) for Ref.
	Publish publish.Options
	Log     *slog.Logger
}

// Failure is the first check that failed.
type Failure struct {
	Step string // signature | checksum | listing | version | reference values | provenance | sbom | boot | registry
	Item string // the file, manifest or boot pair that failed
	Err  error
}

func (f *Failure) Error() string {
	msg := f.Err.Error()
	if strings.HasPrefix(msg, f.Item) {
		return fmt.Sprintf("%s check failed: %s", f.Step, msg)
	}
	return fmt.Sprintf("%s check failed: %s: %s", f.Step, f.Item, msg)
}

func (f *Failure) Unwrap() error { return f.Err }

// Report lists what was checked.
type Report struct {
	Root  string
	Items []string // every check that passed, in order
	Boots []boot.Result
}

func (r *Report) ok(format string, args ...any) {
	r.Items = append(r.Items, fmt.Sprintf(format, args...))
}

// Dir verifies dist/<version>/ at dir.
func Dir(ctx context.Context, dir string, o Options) (*Report, error) {
	t, err := dist.Open(dir)
	if err != nil {
		return nil, err
	}
	return Tree(ctx, t, o)
}

// Ref pulls ref into destDir (a fresh temporary directory when empty, kept
// for inspection and reported as Report.Root), checks the registry
// signatures of the index and every manifest, then verifies the tree.
func Ref(ctx context.Context, ref name.Reference, destDir string, o Options) (*Report, error) {
	v, err := o.verifier()
	if err != nil {
		return nil, err
	}
	if destDir == "" {
		d, err := os.MkdirTemp("", "guestforge-verify-")
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		destDir = d
	}
	pulled, err := publish.Pull(ctx, ref, destDir, o.Publish)
	if err != nil {
		return nil, &Failure{Step: "registry", Item: ref.String(), Err: err}
	}
	rep := &Report{Root: pulled.Tree.Root}
	if tag, ok := ref.(name.Tag); ok {
		if err := bindTag(tag, pulled.Tree); err != nil {
			return rep, err
		}
	}
	for _, d := range pulled.Digests {
		if err := v.VerifyImage(ctx, d, o.Publish.Remote...); err != nil {
			return rep, &Failure{Step: "registry signature", Item: d.String(), Err: err}
		}
		rep.ok("registry signature %s", d)
	}
	return check(ctx, pulled.Tree, o, rep)
}

// Tree verifies an opened dist tree.
func Tree(ctx context.Context, t *dist.Tree, o Options) (*Report, error) {
	return check(ctx, t, o, &Report{Root: t.Root})
}

// verifier is the one signature verifier the options name.
func (o Options) verifier() (sign.Verifier, error) {
	switch {
	case o.Key != nil && o.Keyless != nil:
		return nil, errors.New("verify: a public key and a keyless identity exclude each other: a release is signed one way")
	case o.Key != nil:
		return o.Key, nil
	case o.Keyless != nil:
		return o.Keyless, nil
	}
	return nil, errors.New("verify: say how the release was signed: a public key (--key cosign.pub), or keyless (--certificate-identity and --certificate-oidc-issuer)")
}

func check(ctx context.Context, t *dist.Tree, o Options, rep *Report) (*Report, error) {
	v, err := o.verifier()
	if err != nil {
		return rep, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !t.Has(dist.SumsFile) {
		return rep, &Failure{Step: "checksum", Item: dist.SumsFile, Err: errors.New("missing")}
	}
	// The checksum file is trusted only once its own signature holds.
	if err := sign.VerifyFile(ctx, v, t, dist.SumsFile); err != nil {
		return rep, &Failure{Step: "signature", Item: dist.SumsFile, Err: err}
	}
	rep.ok("signature %s", dist.SumsFile)
	entries, err := sums.ReadFile(t.Path(dist.SumsFile))
	if err != nil {
		return rep, &Failure{Step: "checksum", Item: dist.SumsFile, Err: err}
	}
	listed := map[string]bool{dist.SumsFile: true}
	for _, e := range entries {
		listed[e.Path] = true
		if !t.Covers(e.Path) {
			continue
		}
		if err := sums.Verify(t.Root, []sums.Entry{e}); err != nil {
			return rep, &Failure{Step: "checksum", Item: e.Path, Err: err}
		}
		rep.ok("checksum %s", e.Path)
	}
	for _, rel := range t.Summed() {
		if !listed[rel] {
			return rep, &Failure{Step: "listing", Item: rel, Err: fmt.Errorf("not listed in %s: an unsigned file in the release", dist.SumsFile)}
		}
	}
	for _, rel := range t.Bundles() {
		if !listed[strings.TrimSuffix(rel, dist.BundleSuffix)] {
			return rep, &Failure{Step: "listing", Item: rel, Err: errors.New("a bundle for a file that is not in the release")}
		}
	}
	for _, e := range entries {
		if !t.Covers(e.Path) {
			continue
		}
		if err := sign.VerifyFile(ctx, v, t, e.Path); err != nil {
			return rep, &Failure{Step: "signature", Item: e.Path, Err: err}
		}
		rep.ok("signature %s", e.Path)
	}
	log.Info("checksums and signatures verified", "files", len(entries))
	// Everything above proves the files are the ones signed, not which
	// release they are: a signed 2026.1.0 copied to dist/2026.2.0/ passes
	// it. The version the attestations record binds the name.
	if err := bindVersion(t); err != nil {
		return rep, err
	}
	notesChecked, err := bindNotes(t)
	if err != nil {
		return rep, err
	}
	if notesChecked {
		rep.ok("version %s (provenance, SBOM, release notes)", t.Version)
	} else {
		rep.ok("version %s", t.Version)
	}
	// Before provenance and SBOMs, which would also see a kernel replaced
	// after attest: this check names what such a file does to a relying
	// party, the launch measurements that no longer hold.
	checked, err := refvals.Verify(t)
	if err != nil {
		item := "reference values"
		if m := (*refvals.Mismatch)(nil); errors.As(err, &m) {
			item = m.File
		}
		return rep, &Failure{Step: "reference values", Item: item, Err: err}
	}
	for _, rel := range checked {
		rep.ok("reference values %s: every value recomputed from the release's files", rel)
	}
	if err := provenance.Check(t); err != nil {
		return rep, &Failure{Step: "provenance", Item: dist.ProvenanceFile, Err: err}
	}
	rep.ok("provenance subjects")
	if err := sbom.Check(t); err != nil {
		return rep, &Failure{Step: "sbom", Item: "SBOM", Err: err}
	}
	rep.ok("sbom")
	if err := kataLayouts(t, rep); err != nil {
		return rep, err
	}
	if o.NoBoot {
		return rep, nil
	}
	return rep, bootAll(ctx, t, o, rep, log)
}

func bootAll(ctx context.Context, t *dist.Tree, o Options, rep *Report, log *slog.Logger) error {
	run := o.Boot
	if run == nil {
		run = boot.Run
	}
	pairs := 0
	for _, ad := range t.Arches {
		for _, k := range ad.Kernels {
			if k.BootImage() == "" {
				continue
			}
			for _, im := range ad.Images {
				if im.Initrd == "" {
					continue
				}
				pairs++
				item := k.BootImage() + " + " + filepath.Base(im.Initrd)
				log.Info("boot", "arch", ad.Arch.Name, "kernel", k.BootImage(), "initrd", im.Initrd)
				res, err := run(ctx, boot.Config{
					Arch: ad.Arch, Kernel: t.Path(k.BootImage()), Initrd: t.Path(im.Initrd),
					Marker: boot.OKMarker, Timeout: o.BootTimeout, Log: o.BootLog,
				})
				if err != nil {
					return &Failure{Step: "boot", Item: item, Err: err}
				}
				if want := "arch=" + ad.Arch.Name; !strings.Contains(res.Line, want) {
					return &Failure{Step: "boot", Item: item, Err: fmt.Errorf("probe line %q does not say %s", res.Line, want)}
				}
				rep.Boots = append(rep.Boots, res)
				rep.ok("boot %s: %s (%s)", item, res.Line, res.Duration.Round(time.Millisecond))
			}
		}
	}
	if pairs == 0 {
		return &Failure{Step: "boot", Item: t.Root, Err: errors.New("no kernel + initrd pair to boot: pass --no-boot for trees without one")}
	}
	return nil
}

// bindVersion checks that the version the tree is verified as (its
// directory name) is the one its signed provenance and SBOM index record.
func bindVersion(t *dist.Tree) error {
	recorded := []struct {
		file string
		read func(string) (string, error)
	}{
		{dist.ProvenanceFile, provenance.ReleaseVersion},
		{dist.SBOMIndexFile, sbom.ReleaseVersion},
	}
	for _, r := range recorded {
		if !t.Has(r.file) {
			return &Failure{Step: "version", Item: r.file, Err: errors.New("missing: it records the release version (run `release attest`)")}
		}
		v, err := r.read(t.Path(r.file))
		if err != nil {
			return &Failure{Step: "version", Item: r.file, Err: err}
		}
		if v != t.Version {
			return &Failure{Step: "version", Item: r.file, Err: fmt.Errorf(
				"%s records release %s, but it is being verified as release %s (%s): a signed release relabelled as another version; get release %s from where it was published under its own name",
				r.file, v, t.Version, t.Root, t.Version)}
		}
	}
	return nil
}

// maxNotesBytes bounds the release notes read for their version line.
const maxNotesBytes = 4 * boundedio.MiB

// bindNotes checks that the release notes `release cut` wrote beside a local
// release (<dist>/<version>.release/notes.md) are the notes of this version:
// their first line is "# guestforge <version>". Notes are not part of the
// signed tree, so a tree without them (a pulled release) has nothing to bind;
// checked reports whether there were notes.
func bindNotes(t *dist.Tree) (checked bool, err error) {
	file := filepath.Join(filepath.Dir(t.Root), t.Version+".release", "notes.md")
	if _, err := os.Lstat(file); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	data, err := boundedio.ReadFileLimit(file, maxNotesBytes, "release notes")
	if err != nil {
		return false, &Failure{Step: "version", Item: file, Err: err}
	}
	first, _, _ := strings.Cut(string(data), "\n")
	v, ok := strings.CutPrefix(first, "# guestforge ")
	if !ok {
		return false, &Failure{Step: "version", Item: file, Err: fmt.Errorf(
			"%s:1: the notes start with %q, not \"# guestforge <version>\": write them again with `release cut` (its notes stage)", file, first)}
	}
	if v != t.Version {
		return false, &Failure{Step: "version", Item: file, Err: fmt.Errorf(
			"%s:1: the release notes are for release %s, but they sit beside release %s (%s): notes copied from another release; write them again with `release cut` (its notes stage)",
			file, v, t.Version, t.Root)}
	}
	return true, nil
}

// bindTag checks that a tag names the release the registry manifests
// annotate: <version> for an index, <version>-<arch> for one arch. The
// manifests are signed, the tag is not, so re-pushing a signed release
// under another tag is caught here.
func bindTag(tag name.Tag, t *dist.Tree) error {
	want := t.Version
	if t.Partial && len(t.Arches) == 1 {
		want += "-" + t.Arches[0].Arch.Name
	}
	if got := tag.TagStr(); got != want {
		return &Failure{Step: "version", Item: tag.String(), Err: fmt.Errorf(
			"the signed manifests are release %s, to be tagged %s: a signed release pushed under another tag; pull the tag %s names from where it was published",
			t.Version, want, got)}
	}
	return nil
}
