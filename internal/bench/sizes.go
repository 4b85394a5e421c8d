package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/report"
)

// FromReport completes the warm rebuild with the report of that run (jobs, the
// slowest one) and lists its image artifacts against the budgets of
// imagesDir/<image>.yaml.
func (b *Bench) FromReport(r *report.Report, imagesDir string) error {
	if b.Warm != nil {
		b.Warm.Jobs = len(r.Steps)
		for _, s := range r.Steps {
			if sec := float64(s.DurationMS) / 1000; sec > b.Warm.SlowestS {
				b.Warm.Slowest, b.Warm.SlowestS = s.ID, sec
			}
		}
	}
	budgets := map[string]*manifest.Image{}
	for _, a := range r.Artifacts {
		if a.Image == "" || (a.Kind != "initrd" && a.Kind != "rootfs") {
			continue
		}
		img, ok := budgets[a.Image]
		if !ok {
			var err error
			img, err = manifest.LoadImage(filepath.Join(imagesDir, a.Image+".yaml"))
			if errors.Is(err, os.ErrNotExist) {
				img = nil // built from a definition that is not here: no budget to compare with
			} else if err != nil {
				return fmt.Errorf("budget of %s/%s: %w", a.Arch, a.Name, err)
			}
			budgets[a.Image] = img
		}
		s := Size{Arch: a.Arch, Image: a.Image, File: a.Name, Kind: a.Kind, Bytes: a.Size}
		if img != nil && img.BudgetBytes > 0 {
			s.Budget, s.BudgetBytes = img.Budget, img.BudgetBytes
			s.Ratio = float64(a.Size) / float64(img.BudgetBytes)
		}
		b.Sizes = append(b.Sizes, s)
	}
	return nil
}
