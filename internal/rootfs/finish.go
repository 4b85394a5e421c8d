package rootfs

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
)

// Spec says how a raw mmdebstrap tarball becomes an image's rootfs: what is removed,
// what is added, and how the result is normalised. Everything here is a plain value
// or a host path, so finishing is a pure function of its inputs.
type Spec struct {
	// Image and ImageFile name the image definition in errors.
	Image, ImageFile string
	Arch             arch.Arch
	Init             initrd.InitMode
	// Epoch is every entry's mtime (SOURCE_DATE_EPOCH).
	Epoch int64
	// Delete are the image's delete: paths (absolute, inside the rootfs).
	Delete []string
	// Overlay is the image's files/ directory on this host ("" = none).
	Overlay string
	// Agent is the agent binary on this host; it is installed where the init mode
	// wants it (internal/initrd.ApplyInit decides, so initrd and disk agree).
	Agent string
	// Budget (as written) and BudgetBytes bound Stats.ContentBytes; 0 = no budget.
	Budget      string
	BudgetBytes int64
}

// DefaultHostname is written to /etc/hostname when the overlay brings none: the build
// container's name must not leak into the image.
const DefaultHostname = "guestforge"

// BudgetError is a rootfs that is larger than its image allows.
type BudgetError struct {
	Image, ImageFile string
	Budget           string
	BudgetBytes      int64
	Actual           int64
	Largest          []DirUsage
}

func (e *BudgetError) Error() string {
	var top []string
	for _, d := range e.Largest {
		top = append(top, fmt.Sprintf("/%s %s", d.Path, MiB(d.Bytes)))
	}
	return fmt.Sprintf("image %s: the rootfs holds %s (%d bytes), over its budget of %s (%d bytes, budget: in %s) by %s; largest directories: %s. Remove packages, add delete: paths, or raise the budget",
		e.Image, MiB(e.Actual), e.Actual, e.Budget, e.BudgetBytes, e.ImageFile, MiB(e.Actual-e.BudgetBytes), strings.Join(top, ", "))
}

// MiB formats a byte count for people: B, KiB or MiB with one decimal.
func MiB(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Finish reads the raw rootfs tarball (mmdebstrap's output) from raw, applies spec
// and writes the normalised tarball to w (see the package doc). The size budget is
// checked before the first byte is written, so an over-budget image never reaches w.
func Finish(raw io.ReaderAt, rawSize int64, w io.Writer, spec Spec) (Stats, error) {
	t, err := readRaw(raw, rawSize)
	if err != nil {
		return Stats{}, fmt.Errorf("image %s: read the mmdebstrap tarball: %w", spec.Image, err)
	}
	removed, err := removeState(t)
	if err != nil {
		return Stats{}, fmt.Errorf("image %s: remove per-build state: %w", spec.Image, err)
	}
	for _, p := range spec.Delete {
		c, err := cleanRel(p)
		if err != nil {
			return Stats{}, fmt.Errorf("image %s: delete: %w", spec.Image, err)
		}
		// The tree holds every parent of what it holds: the path itself is there
		// whenever anything below it is.
		if _, ok := t.Lookup(c); ok {
			if err := t.Remove(c); err != nil {
				return Stats{}, fmt.Errorf("image %s: delete: %w", spec.Image, err)
			}
			removed = append(removed, c+" (delete: in "+spec.ImageFile+")")
		}
	}
	// Fixed files first, so the overlay can replace them.
	if err := t.AddFile("etc/hostname", 0o644, []byte(DefaultHostname+"\n")); err != nil {
		return Stats{}, fmt.Errorf("image %s: %w", spec.Image, err)
	}
	// Empty: systemd makes a machine ID at boot (on a read-only root, in memory).
	if err := t.AddFile("etc/machine-id", 0o444, nil); err != nil {
		return Stats{}, fmt.Errorf("image %s: %w", spec.Image, err)
	}
	if spec.Overlay != "" {
		if err := overlay(t, spec.Overlay); err != nil {
			return Stats{}, fmt.Errorf("image %s: overlay %s: %w", spec.Image, spec.Overlay, err)
		}
	}
	if spec.Agent == "" {
		return Stats{}, fmt.Errorf("image %s: no agent binary to install: set agent: in %s", spec.Image, spec.ImageFile)
	}
	// The same wiring, on the same tree type, as the initrd of the image gets.
	if err := initrd.ApplyInit(t, spec.Init, &initrd.Agent{HostPath: spec.Agent}); err != nil {
		return Stats{}, fmt.Errorf("image %s: install the agent (init: %s): %w", spec.Image, spec.Init, err)
	}
	members := layout(t)
	st := statsOf(members)
	slices.Sort(removed)
	st.Removed = removed
	if spec.BudgetBytes > 0 && st.ContentBytes > spec.BudgetBytes {
		return st, &BudgetError{Image: spec.Image, ImageFile: spec.ImageFile, Budget: spec.Budget,
			BudgetBytes: spec.BudgetBytes, Actual: st.ContentBytes, Largest: st.Largest}
	}
	if err := writeTar(w, members, spec.Epoch); err != nil {
		return st, fmt.Errorf("image %s: write the rootfs tarball: %w", spec.Image, err)
	}
	return st, nil
}
