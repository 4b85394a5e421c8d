package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/release/repro"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() { rootCmd.AddCommand(newReportCmd()) }

const reportLong = `Scans the dist tree (sizes, sha256), joins the build record the pipelines wrote
(` + report.RecordFile + `: durations, cache hits, logs, failures), the reproducibility
gate's verdict given with --repro, and toolchain.yaml (maintainers, support status), and
writes report.json plus report.html: a single file with a sortable, filterable table and
charts that opens from file://. Earlier releases' report.json files given with --history
add a history section.

--repro takes the report.json that ` + "`release repro`" + ` writes to its --out (` + "`make repro`" + `:
dist/` + report.ReproDir + `/` + report.ReproFile + `) or ` + "`release repro compare --json`" + ` writes. Every artifact it
compared is reproducible "no" when the two builds differed (with what differed first) and
"yes" when they made the very bytes the dist tree holds; an artifact it did not compare, or
compared with other bytes than the tree's (a warning says so), stays "unknown".`

// reportFlags are the flags of `release report`.
type reportFlags struct {
	distDir, version, manifestPath, out, jsonOut, reproFile string
	history, records                                        []string
}

func newReportCmd() *cobra.Command {
	var o reportFlags
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write dist/report.json and a self-contained dist/report.html for a build or release",
		Long:  reportLong,
		Example: `  release report --dist dist
  release report --dist dist --repro dist/repro/report.json
  release report --dist dist --history old/v2026.1.0/report.json,old/v2026.2.0/report.json -o dist/report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.distDir, "dist", "dist", "dist directory: a tree, or the parent of dist/<version>/ trees")
	f.StringVar(&o.version, "version", "", "release version to report (default: the build record's, or the only tree's)")
	f.StringVar(&o.manifestPath, "manifest", "toolchain.yaml", "toolchain manifest for maintainers and support status (empty: none)")
	f.StringSliceVar(&o.records, "record", nil, "build record(s) to join, comma-separated (default: DIST/"+report.RecordFile+" if present)")
	f.StringVar(&o.reproFile, "repro", "", "the reproducibility gate's report.json to join (release repro's OUT/"+report.ReproFile+", or release repro compare --json)")
	f.StringSliceVar(&o.history, "history", nil, "earlier releases' report.json files, comma-separated")
	f.StringVarP(&o.out, "output", "o", "", "report page to write (default: DIST/"+report.HTMLFile+")")
	f.StringVar(&o.jsonOut, "json", "", "report.json to write (default: DIST/"+report.JSONFile+")")
	return cmd
}

func (o *reportFlags) run(cmd *cobra.Command) error {
	if err := o.checkOutputs(); err != nil {
		return badInput(err)
	}
	opts, err := o.options(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
	if err != nil {
		return badInput(err)
	}
	r, err := report.Build(opts)
	if err != nil {
		return badInput(err)
	}
	if err := report.WriteJSON(o.jsonOut, r); err != nil {
		return badInput(err)
	}
	if err := report.WriteHTML(r, report.HTMLOptions{Dist: o.distDir, Out: o.out}); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "report %s: %d artifacts, %d failed, %d reproducible, %d not, %d earlier releases\nwrote %s\nwrote %s\n",
		r.Version, r.Totals.Artifacts, r.Totals.Failed, r.Totals.Reproducible, r.Totals.Unreproduced, len(r.History), o.jsonOut, o.out)
	return nil
}

// checkOutputs defaults the outputs into the dist tree and refuses one that would
// overwrite an input (or the page its own JSON).
func (o *reportFlags) checkOutputs() error {
	if o.out == "" {
		o.out = filepath.Join(o.distDir, report.HTMLFile)
	}
	if o.jsonOut == "" {
		o.jsonOut = filepath.Join(o.distDir, report.JSONFile)
	}
	inputs := append(append([]string{o.manifestPath, o.reproFile}, o.records...), o.history...)
	if err := safepath.CheckOutput(o.jsonOut, inputs...); err != nil {
		return err
	}
	return safepath.CheckOutput(o.out, append(inputs, o.jsonOut)...)
}

// options reads every input the report joins: manifest, build records, the repro
// verdict and earlier reports.
func (o *reportFlags) options(log *slog.Logger) (report.Options, error) {
	opts := report.Options{Dist: o.distDir, Version: o.version, Log: log}
	if o.manifestPath != "" {
		tc, err := manifest.Load(o.manifestPath)
		if err != nil {
			return opts, err
		}
		opts.Toolchain = tc
	}
	recs, err := o.readRecords()
	if err != nil {
		return opts, err
	}
	if len(recs) > 0 {
		opts.Record = report.Merge(recs...)
	}
	if o.reproFile != "" {
		if opts.Repro, err = repro.ReadJSON(o.reproFile); err != nil {
			return opts, err
		}
	}
	for _, f := range o.history {
		h, err := report.ReadJSON(f)
		if err != nil {
			return opts, err
		}
		opts.History = append(opts.History, h)
	}
	return opts, nil
}

// readRecords reads --record, by default the dist tree's build record if any.
func (o *reportFlags) readRecords() ([]*report.Record, error) {
	records := o.records
	if len(records) == 0 {
		def := filepath.Join(o.distDir, report.RecordFile)
		if _, err := os.Stat(def); err == nil {
			records = []string{def}
		}
	}
	var recs []*report.Record
	for _, f := range records {
		r, err := report.ReadRecord(f)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}
