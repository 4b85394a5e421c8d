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

func init() {
	var (
		distDir, version, manifestPath, out, jsonOut, reproFile string
		history, records                                        []string
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write dist/report.json and a self-contained dist/report.html for a build or release",
		Long: `Scans the dist tree (sizes, sha256), joins the build record the pipelines wrote
(` + report.RecordFile + `: durations, cache hits, logs, failures), the reproducibility
gate's verdict given with --repro, and toolchain.yaml (maintainers, support status), and
writes report.json plus report.html: a single file with a sortable, filterable table and
charts that opens from file://. Earlier releases' report.json files given with --history
add a history section.

--repro takes the report.json that ` + "`release repro`" + ` writes to its --out (` + "`make repro`" + `:
dist/` + report.ReproDir + `/` + report.ReproFile + `) or ` + "`release repro compare --json`" + ` writes. Every artifact it
compared is reproducible "no" when the two builds differed (with what differed first) and
"yes" when they made the very bytes the dist tree holds; an artifact it did not compare, or
compared with other bytes than the tree's (a warning says so), stays "unknown".`,
		Example: `  release report --dist dist
  release report --dist dist --repro dist/repro/report.json
  release report --dist dist --history old/v2026.1.0/report.json,old/v2026.2.0/report.json -o dist/report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				out = filepath.Join(distDir, report.HTMLFile)
			}
			if jsonOut == "" {
				jsonOut = filepath.Join(distDir, report.JSONFile)
			}
			inputs := append(append([]string{manifestPath, reproFile}, records...), history...)
			if err := safepath.CheckOutput(jsonOut, inputs...); err != nil {
				return badInput(err)
			}
			if err := safepath.CheckOutput(out, append(inputs, jsonOut)...); err != nil {
				return badInput(err)
			}
			opts := report.Options{Dist: distDir, Version: version,
				Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))}
			if manifestPath != "" {
				tc, err := manifest.Load(manifestPath)
				if err != nil {
					return badInput(err)
				}
				opts.Toolchain = tc
			}
			if len(records) == 0 {
				def := filepath.Join(distDir, report.RecordFile)
				if _, err := os.Stat(def); err == nil {
					records = []string{def}
				}
			}
			var recs []*report.Record
			for _, f := range records {
				r, err := report.ReadRecord(f)
				if err != nil {
					return badInput(err)
				}
				recs = append(recs, r)
			}
			if len(recs) > 0 {
				opts.Record = report.Merge(recs...)
			}
			if reproFile != "" {
				g, err := repro.ReadJSON(reproFile)
				if err != nil {
					return badInput(err)
				}
				opts.Repro = g
			}
			for _, f := range history {
				h, err := report.ReadJSON(f)
				if err != nil {
					return badInput(err)
				}
				opts.History = append(opts.History, h)
			}
			r, err := report.Build(opts)
			if err != nil {
				return badInput(err)
			}
			if err := report.WriteJSON(jsonOut, r); err != nil {
				return badInput(err)
			}
			if err := report.WriteHTML(r, report.HTMLOptions{Dist: distDir, Out: out}); err != nil {
				return badInput(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report %s: %d artifacts, %d failed, %d reproducible, %d not, %d earlier releases\nwrote %s\nwrote %s\n",
				r.Version, r.Totals.Artifacts, r.Totals.Failed, r.Totals.Reproducible, r.Totals.Unreproduced, len(r.History), jsonOut, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&distDir, "dist", "dist", "dist directory: a tree, or the parent of dist/<version>/ trees")
	f.StringVar(&version, "version", "", "release version to report (default: the build record's, or the only tree's)")
	f.StringVar(&manifestPath, "manifest", "toolchain.yaml", "toolchain manifest for maintainers and support status (empty: none)")
	f.StringSliceVar(&records, "record", nil, "build record(s) to join, comma-separated (default: DIST/"+report.RecordFile+" if present)")
	f.StringVar(&reproFile, "repro", "", "the reproducibility gate's report.json to join (release repro's OUT/"+report.ReproFile+", or release repro compare --json)")
	f.StringSliceVar(&history, "history", nil, "earlier releases' report.json files, comma-separated")
	f.StringVarP(&out, "output", "o", "", "report page to write (default: DIST/"+report.HTMLFile+")")
	f.StringVar(&jsonOut, "json", "", "report.json to write (default: DIST/"+report.JSONFile+")")
	rootCmd.AddCommand(cmd)
}
