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

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() { rootCmd.AddCommand(newReproCmd()) }

func newReproCmd() *cobra.Command {
	var (
		arches, images                                    []string
		variant, out, manifestPath, archive, fs, compress string
		asOf                                              string
		keep, noKernel, noPerturb, noDiffoscope, verbose  bool
	)
	cmd := &cobra.Command{
		Use:   "repro",
		Short: "Reproducibility gate: build the target set twice with every cache off and compare the artifacts",
		Long: `Builds the selected targets twice through the Dagger pipelines, each time with a fresh
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
comparison could not run.`,
		Example: `  release repro --arches x86_64 --images default --kernel-variant test
  release repro --no-kernel --images default --keep --out /tmp/repro
  release repro compare dist/repro/a dist/repro/b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(arches) == 0 {
				a, err := arch.Host()
				if err != nil {
					return badInput(err)
				}
				arches = []string{a.Name}
			}
			day, err := policy.ParseAsOf(asOf)
			if err != nil {
				return badInput(err)
			}
			spec := build.MatrixSpec{Arches: arches, Images: images, NoKernel: noKernel, Verity: true,
				AsOf: day, KernelArchive: archive, KernelVariant: build.KernelVariantArg(variant)}
			if spec.FS, err = build.ParseFS(fs); err != nil {
				return badInput(err)
			}
			if spec.Compression, err = initrd.ParseCompression(compress); err != nil {
				return badInput(err)
			}
			if err := safepath.CheckOutput(out, build.Inputs(manifestPath, archive)...); err != nil {
				return badInput(err)
			}
			dirA, dirB := filepath.Join(out, "a"), filepath.Join(out, "b")
			if err := prepareReproOut(out, dirA, dirB); err != nil {
				return badInput(err)
			}
			ctx := cmd.Context()
			var progress io.Writer
			if verbose {
				progress = cmd.ErrOrStderr()
			}
			s, err := build.Open(ctx, build.OpenSpec{Root: filepath.Dir(manifestPath), LogDir: out, Progress: progress,
				Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))})
			if err != nil {
				return buildExit(err)
			}
			defer s.Close()
			p, repo := s.Pipeline, s.Repo
			rs := build.ReproSpec{Matrix: spec, OutA: dirA, OutB: dirB}
			if !noPerturb {
				pt := build.DefaultPerturbation()
				rs.Perturb = &pt
			}
			builds, err := p.BuildTwice(ctx, repo, rs)
			if err != nil {
				return err
			}
			for i, b := range builds {
				p.Log.Info("repro: build done", "build", string(rune('a'+i)), "took", b.Took.Round(1e9), "nonce", b.Nonce)
			}
			rep, err := compareAndWrite(cmd, dirA, dirB, out, noDiffoscope)
			if err != nil {
				return err
			}
			if rep.Identical && !keep {
				os.RemoveAll(dirA)
				os.RemoveAll(dirB)
			}
			if !rep.Identical {
				return violation(errors.New(rep.Summary()))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&arches, "arches", nil, "architectures to build (default: this machine's)")
	f.StringSliceVar(&images, "images", nil, "images to build (default: every image the selected targets list)")
	f.StringVar(&variant, "kernel-variant", "test", "kernel config variant for every arch; \""+build.TargetVariants+"\" builds each target's own variant")
	f.BoolVar(&noKernel, "no-kernel", false, "leave kernels out (images only)")
	f.StringVar(&out, "out", filepath.Join("dist", report.ReproDir), "directory for the two trees and the reports")
	f.BoolVar(&keep, "keep", false, "keep OUT/a and OUT/b after a pass (they are always kept after a mismatch)")
	f.BoolVar(&noPerturb, "no-perturb", false, "build the second tree like the first (tells plain nondeterminism from a perturbation that leaks)")
	f.BoolVar(&noDiffoscope, "no-diffoscope", false, "do not run diffoscope even when it is on PATH")
	f.StringVar(&fs, "fs", "ext4", "rootfs image filesystem: ext4 or erofs")
	f.StringVar(&compress, "compress", "zstd", "initrd compression: zstd, gzip or none")
	f.StringVar(&asOf, "as-of", "", "the day deprecated targets are judged on, YYYY-MM-DD (default: today, UTC)")
	f.StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest; kernel-configs/, images/ and patches/ are read beside it")
	f.StringVar(&archive, "kernel-archive", os.Getenv("GUESTFORGE_KERNEL_ARCHIVE"), "local copy of the pinned kernel archive for offline hosts (default $GUESTFORGE_KERNEL_ARCHIVE)")
	f.BoolVarP(&verbose, "verbose", "v", false, "also show the engine's progress on stderr")
	cmd.AddCommand(newReproCompareCmd())
	return cmd
}

func newReproCompareCmd() *cobra.Command {
	var jsonOut, diffoscopeDir string
	var noDiffoscope bool
	cmd := &cobra.Command{
		Use:   "compare DIR_A DIR_B",
		Short: "Compare two artifact trees and name the first differing member of each differing artifact",
		Long: `Compares every file of two trees (e.g. dist/ of two builds) by sha256; a file in only one
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
Exit 0 identical, 1 different, 2 when the trees cannot be compared.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, o := range []string{jsonOut, diffoscopeDir} {
				if o == "" {
					continue
				}
				if err := safepath.CheckOutput(o, args[0], args[1]); err != nil {
					return badInput(err)
				}
			}
			opts := repro.Options{NoDiffoscope: noDiffoscope, DiffoscopeDir: diffoscopeDir}
			rep, err := repro.Compare(cmd.Context(), args[0], args[1], opts)
			if errors.Is(err, repro.ErrBadInput) {
				return badInput(err)
			}
			if err != nil {
				return err
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if jsonOut != "" {
				if err := writeReport(jsonOut, rep.WriteJSON); err != nil {
					return badInput(err)
				}
			}
			if !rep.Identical {
				return violation(errors.New(rep.Summary()))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&diffoscopeDir, "diffoscope-dir", "", "where diffoscope writes its report (default: a new temporary directory)")
	cmd.Flags().BoolVar(&noDiffoscope, "no-diffoscope", false, "do not run diffoscope even when it is on PATH")
	return cmd
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
