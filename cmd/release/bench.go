package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/bench"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() { rootCmd.AddCommand(newBenchCmd()) }

const benchLong = `Reads the measurements hack/bench.sh (make bench) wrote: initrd packing vs
find | cpio | gzip -9, kernel pipeline vs bare make -j, a warm no-change rebuild, the QEMU
boot time. With --report (the warm rebuild's report.json) it adds the rebuild's jobs and
the initrd and rootfs image sizes against the budgets of images/<name>.yaml. Prints one
table and writes the same as JSON. It measures nothing itself.`

// benchFlags are the flags of `release bench`.
type benchFlags struct{ raw, reportFile, images, jsonOut string }

func newBenchCmd() *cobra.Command {
	var o benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Print the benchmark table and write bench.json from what hack/bench.sh measured",
		Long:  benchLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.raw, "raw", "", "measurements written by hack/bench.sh (required)")
	f.StringVar(&o.reportFile, "report", "", "report.json of the warm rebuild (sizes, jobs)")
	f.StringVar(&o.images, "images", "images", "image definitions, for the size budgets")
	f.StringVar(&o.jsonOut, "json", filepath.Join("dist", "bench.json"), "bench.json to write")
	cmd.MarkFlagRequired("raw")
	return cmd
}

func (o *benchFlags) run(cmd *cobra.Command) error {
	if err := safepath.CheckOutput(o.jsonOut, o.raw, o.reportFile, o.images); err != nil {
		return badInput(err)
	}
	b, err := bench.ReadRawFile(o.raw)
	if err != nil {
		return badInput(err)
	}
	if o.reportFile != "" {
		r, err := report.ReadJSON(o.reportFile)
		if err != nil {
			return badInput(err)
		}
		if err := b.FromReport(r, o.images); err != nil {
			return badInput(err)
		}
	}
	if err := b.Table(cmd.OutOrStdout()); err != nil {
		return err
	}
	if err := b.WriteJSON(o.jsonOut); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", o.jsonOut)
	return nil
}
