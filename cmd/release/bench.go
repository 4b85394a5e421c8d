package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/bench"
	"github.com/guestforge/guestforge/internal/report"
	"github.com/guestforge/guestforge/internal/safepath"
)

func init() {
	var raw, reportFile, images, jsonOut string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Print the benchmark table and write bench.json from what hack/bench.sh measured",
		Long: `Reads the measurements hack/bench.sh (make bench) wrote: initrd packing vs
find | cpio | gzip -9, kernel pipeline vs bare make -j, a warm no-change rebuild, the QEMU
boot time. With --report (the warm rebuild's report.json) it adds the rebuild's jobs and
the initrd and rootfs image sizes against the budgets of images/<name>.yaml. Prints one
table and writes the same as JSON. It measures nothing itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := safepath.CheckOutput(jsonOut, raw, reportFile, images); err != nil {
				return badInput(err)
			}
			b, err := bench.ReadRawFile(raw)
			if err != nil {
				return badInput(err)
			}
			if reportFile != "" {
				r, err := report.ReadJSON(reportFile)
				if err != nil {
					return badInput(err)
				}
				if err := b.FromReport(r, images); err != nil {
					return badInput(err)
				}
			}
			if err := b.Table(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := b.WriteJSON(jsonOut); err != nil {
				return badInput(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", jsonOut)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&raw, "raw", "", "measurements written by hack/bench.sh (required)")
	f.StringVar(&reportFile, "report", "", "report.json of the warm rebuild (sizes, jobs)")
	f.StringVar(&images, "images", "images", "image definitions, for the size budgets")
	f.StringVar(&jsonOut, "json", filepath.Join("dist", "bench.json"), "bench.json to write")
	cmd.MarkFlagRequired("raw")
	rootCmd.AddCommand(cmd)
}
