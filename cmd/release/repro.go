package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/guestforge/guestforge/cmd/release/options"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() { rootCmd.AddCommand(newReproCmd()) }

const reproLong = `Builds the selected targets twice through the Dagger pipelines, each time with a fresh
nonce (every step re-runs: no engine cache, no ccache, no cached mmdebstrap), the second
time in a perturbed environment (time zone GFT-13:45, LANG=fr_CH.UTF-8 with LC_ALL=C,
umask 0002, another working directory in the containers, another client work path), and
compares the two trees by sha256. For each artifact that differs it names the first
differing member (cpio/tar/ext4/erofs entry: content, mode, owner, mtime, size, link
target) or byte offset (ELF section, text line), and runs diffoscope on the first one when
it is on PATH.

OUT/a and OUT/b are the two trees (removed after a pass unless --keep), OUT/report.txt and
OUT/report.json the verdict, OUT/engine.log the engine's progress. A build's report shows
the verdict in its Reproducible column: release report --dist dist --repro OUT/report.json
(make repro runs it when dist/ holds a build). Cost: two cache-disabled
builds of everything selected (a test kernel and the default images on x86_64 take
tens of minutes on two cores).
Exit 0 when every artifact is identical, 1 when one differs, 2 when the build or the
comparison could not run.`

// reproFlags are the flags of `release repro`.
type reproFlags struct {
	arches                                           options.ArchesOptions
	variant                                          options.KernelVariantOptions
	archive                                          options.KernelArchiveOptions
	manifest                                         options.ManifestOptions
	asOf                                             options.AsOfOptions
	img                                              options.ImageBuildOptions
	images                                           []string
	out                                              string
	keep, noKernel, noPerturb, noDiffoscope, verbose bool
}

func newReproCmd() *cobra.Command {
	o := reproFlags{variant: options.KernelVariantOptions{Variant: "test",
		Help: "kernel config variant for every arch; \"" + build.TargetVariants + "\" builds each target's own variant"},
		manifest: options.ManifestOptions{Path: "toolchain.yaml"}}
	cmd := &cobra.Command{
		Use:   "repro",
		Short: "Reproducibility gate: build the target set twice with every cache off and compare the artifacts",
		Long:  reproLong,
		Example: `  release repro --arch x86_64 --image default --kernel-variant test
  release repro --no-kernel --image default --keep --out /tmp/repro
  release repro compare dist/repro/a dist/repro/b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.addFlags(cmd.Flags())
	cmd.AddCommand(newReproCompareCmd())
	return cmd
}

func (o *reproFlags) addFlags(f *pflag.FlagSet) {
	o.arches.AddFlags(f)
	f.StringSliceVar(&o.images, "image", nil, "images to build, repeatable or comma-separated (default: every image the selected targets list)")
	options.Alias(f, "images", "image")
	o.variant.AddFlags(f)
	f.BoolVar(&o.noKernel, "no-kernel", false, "leave kernels out (images only)")
	f.StringVar(&o.out, "out", filepath.Join("dist", report.ReproDir), "directory for the two trees and the reports")
	f.BoolVar(&o.keep, "keep", false, "keep OUT/a and OUT/b after a pass (they are always kept after a mismatch)")
	f.BoolVar(&o.noPerturb, "no-perturb", false, "build the second tree like the first (tells plain nondeterminism from a perturbation that leaks)")
	f.BoolVar(&o.noDiffoscope, "no-diffoscope", false, "do not run diffoscope even when it is on PATH")
	o.img.AddFlags(f)
	o.asOf.AddFlags(f)
	o.manifest.AddFlags(f)
	o.archive.AddFlags(f)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "also show the engine's progress on stderr")
}

// spec is the matrix both builds build.
func (o *reproFlags) spec() (build.MatrixSpec, error) {
	arches, err := o.arches.OrHost()
	if err != nil {
		return build.MatrixSpec{}, err
	}
	day, err := o.asOf.Day()
	if err != nil {
		return build.MatrixSpec{}, err
	}
	spec := build.MatrixSpec{Arches: arches, Images: o.images, NoKernel: o.noKernel, Verity: true,
		AsOf: day, KernelArchive: o.archive.Archive, KernelVariant: build.KernelVariantArg(o.variant.Variant)}
	if spec.FS, err = build.ParseFS(o.img.FS); err != nil {
		return spec, err
	}
	if spec.Compression, err = initrd.ParseCompression(o.img.Compress); err != nil {
		return spec, err
	}
	return spec, safepath.CheckOutput(o.out, build.Inputs(o.manifest.Path, o.archive.Archive)...)
}

func (o *reproFlags) run(cmd *cobra.Command) error {
	spec, err := o.spec()
	if err != nil {
		return badInput(err)
	}
	rs := build.ReproSpec{Matrix: spec, OutA: filepath.Join(o.out, "a"), OutB: filepath.Join(o.out, "b")}
	if err := prepareReproOut(o.out, rs.OutA, rs.OutB); err != nil {
		return badInput(err)
	}
	if !o.noPerturb {
		pt := build.DefaultPerturbation()
		rs.Perturb = &pt
	}
	if err := o.buildTwice(cmd, rs); err != nil {
		return err
	}
	rep, err := compareAndWrite(cmd, rs.OutA, rs.OutB, o.out, o.noDiffoscope)
	if err != nil {
		return err
	}
	if rep.Identical && !o.keep {
		os.RemoveAll(rs.OutA)
		os.RemoveAll(rs.OutB)
	}
	if !rep.Identical {
		return violation(errors.New(rep.Summary()))
	}
	return nil
}

// buildTwice opens an engine session over the manifest's checkout and builds rs.
func (o *reproFlags) buildTwice(cmd *cobra.Command, rs build.ReproSpec) error {
	var progress io.Writer
	if o.verbose {
		progress = cmd.ErrOrStderr()
	}
	s, err := build.Open(cmd.Context(), build.OpenSpec{Root: filepath.Dir(o.manifest.Path), LogDir: o.out, Progress: progress,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))})
	if err != nil {
		return buildExit(err)
	}
	defer s.Close()
	builds, err := s.Pipeline.BuildTwice(cmd.Context(), s.Repo, rs)
	if err != nil {
		return err
	}
	for i, b := range builds {
		s.Pipeline.Log.Info("repro: build done", "build", string(rune('a'+i)), "took", b.Took.Round(1e9), "nonce", b.Nonce)
	}
	return nil
}

const reproCompareLong = `Compares every file of two trees (e.g. dist/ of two builds) by sha256; a file in only one
tree is a mismatch. For each differing artifact it names the first differing member:
initrds (newc cpio, zstd/gzip/none) and tarballs record by record, ext4 images through
debugfs, erofs images through fsck.erofs --extract; anything else by the first differing
byte (with the ELF section or the text line). The first line of the report names the
failing file and member. diffoscope, when on PATH, is run on the first mismatching pair.
Symlinks are compared by their target and never followed (not into a directory, not to
read a file): the report never holds a byte from outside the two trees. A tree given as a
symlink is resolved once and the report says so. Names are escaped in the text report.
--json and --diffoscope-dir must lie outside both trees; the --json file is what
release report --repro joins into a build's report (the Reproducible column).
Exit 0 identical, 1 different, 2 when the trees cannot be compared.`

// reproCompare are the flags of `release repro compare`.
type reproCompare struct {
	jsonOut, diffoscopeDir string
	noDiffoscope           bool
}

func newReproCompareCmd() *cobra.Command {
	var o reproCompare
	cmd := &cobra.Command{
		Use:   "compare DIR_A DIR_B",
		Short: "Compare two artifact trees and name the first differing member of each differing artifact",
		Long:  reproCompareLong,
		Args:  cobra.ExactArgs(2),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0], args[1]) },
	}
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&o.diffoscopeDir, "diffoscope-dir", "", "where diffoscope writes its report (default: a new temporary directory)")
	cmd.Flags().BoolVar(&o.noDiffoscope, "no-diffoscope", false, "do not run diffoscope even when it is on PATH")
	return cmd
}

func (o *reproCompare) run(cmd *cobra.Command, a, b string) error {
	for _, out := range []string{o.jsonOut, o.diffoscopeDir} {
		if out == "" {
			continue
		}
		if err := safepath.CheckOutput(out, a, b); err != nil {
			return badInput(err)
		}
	}
	rep, err := repro.Compare(cmd.Context(), a, b, repro.Options{NoDiffoscope: o.noDiffoscope, DiffoscopeDir: o.diffoscopeDir})
	if errors.Is(err, repro.ErrBadInput) {
		return badInput(err)
	}
	if err != nil {
		return err
	}
	if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
		return err
	}
	if o.jsonOut != "" {
		if err := writeReport(o.jsonOut, rep.WriteJSON); err != nil {
			return badInput(err)
		}
	}
	if !rep.Identical {
		return violation(errors.New(rep.Summary()))
	}
	return nil
}

// reproMarker marks a directory as release repro's, so a later run may empty it.
const reproMarker = ".release-repro"

// reproText is the verdict for people in OUT; OUT/report.ReproFile is the JSON one.
const reproText = "report.txt"

// prepareReproOut makes out ready for a run: trees of an earlier run would be
// compared as if this run made them, so they go; but only from a directory an
// earlier run marked, never from one that merely happens to hold an a/ or b/.
// An earlier run's verdict goes from a marked directory too: after a run that
// could not compare, `release report --repro` must find no verdict rather than
// a stale one.
func prepareReproOut(out, dirA, dirB string) error {
	_, err := os.Stat(filepath.Join(out, reproMarker))
	marked := err == nil
	for _, d := range []string{dirA, dirB} {
		if _, err := os.Stat(d); err == nil && !marked {
			return fmt.Errorf("%s exists and %s is not a release repro output directory: choose another --out or remove it", d, out)
		}
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	if marked {
		for _, f := range []string{reproText, report.ReproFile} {
			if err := os.Remove(filepath.Join(out, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, reproMarker), []byte("written by release repro; its a/ and b/ are replaced on every run\n"), 0o644)
}

// compareAndWrite compares the trees, prints the text report and writes
// OUT/report.txt and OUT/report.json (what `release report --repro` joins).
func compareAndWrite(cmd *cobra.Command, dirA, dirB, out string, noDiffoscope bool) (*repro.Report, error) {
	rep, err := repro.Compare(cmd.Context(), dirA, dirB, repro.Options{NoDiffoscope: noDiffoscope, DiffoscopeDir: filepath.Join(out, "diffoscope")})
	if err != nil {
		return nil, err
	}
	if err := writeReport(filepath.Join(out, reproText), rep.WriteText); err != nil {
		return nil, err
	}
	if err := writeReport(filepath.Join(out, report.ReproFile), rep.WriteJSON); err != nil {
		return nil, err
	}
	if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
		return nil, err
	}
	return rep, nil
}

// writeReport writes a report atomically: a reader (a CI upload) never sees half
// of one, and a failed write leaves the previous report.
func writeReport(path string, write func(io.Writer) error) error {
	return safepath.WriteFile(path, 0o644, write)
}
