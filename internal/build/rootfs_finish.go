package build

import (
	"cmp"
	"iter"
	"maps"

	"github.com/guestforge/guestforge/internal/rootfs"
)

// Rootfs finishing is pure and lives in internal/rootfs; these names keep the disk
// image's planning (diskimage_plan.go) and its tests speaking of the stats they size
// an image from.
type (
	// RootfsStats describes a finished rootfs (rootfs.Stats).
	RootfsStats = rootfs.Stats
	// BudgetError is a rootfs over its image's size budget (rootfs.BudgetError).
	BudgetError = rootfs.BudgetError
)

// mib formats a byte count for the logs and errors (rootfs.MiB).
func mib(n int64) string { return rootfs.MiB(n) }

// cmpOr is cmp.Or for the package's string defaults.
func cmpOr(a, b string) string { return cmp.Or(a, b) }

// mapKeys lists a map's keys, for slices.Sorted.
func mapKeys[V any](m map[string]V) iter.Seq[string] { return maps.Keys(m) }
