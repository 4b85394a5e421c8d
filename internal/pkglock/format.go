package pkglock

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/safepath"
)

// Format renders the lock as `release lock` writes it: the same lock gives the same
// bytes.
func Format(l *Lock) []byte {
	var b bytes.Buffer
	what := map[Kind]string{KindImage: "images/" + l.Name + ".yaml", KindBuilder: "builders." + l.Name + " of toolchain.yaml",
		KindSeed: "the seed the builder images are made in"}[l.Kind]
	fmt.Fprintf(&b, "# Package lock of %s, written by `release lock`: do not edit by hand.\n", what)
	fmt.Fprintf(&b, "# Refresh (monthly, docs/runbook.md): %s, review the diff, commit.\n", Refresh(l.Kind, l.Name))
	fmt.Fprintf(&b, "lock %d\n", FormatVersion)
	writeHeader(&b, l)
	for _, s := range l.Arches {
		fmt.Fprintf(&b, "\narch %s\ndate %s\n", s.Arch, s.Date.UTC().Format(time.RFC3339))
		for _, e := range s.Packages {
			writeEntry(&b, e)
		}
	}
	return b.Bytes()
}

func writeHeader(b *bytes.Buffer, l *Lock) {
	fmt.Fprintf(b, "kind %s\nname %s\nsuite %s\nmirror %s\n", l.Kind, l.Name, l.Suite, l.Mirror)
	if l.Variant != "" {
		fmt.Fprintf(b, "variant %s\n", l.Variant)
	}
	fmt.Fprintf(b, "include %s\n", strings.Join(l.Include, " "))
}

func writeEntry(b *bytes.Buffer, e Entry) {
	fmt.Fprintf(b, "pkg %s %s %s %s %d %s %s\n", e.Name, e.Version, e.Arch, e.Priority, e.Size, e.SHA256, e.Filename)
}

// WriteFile writes the lock to its Path atomically.
func WriteFile(l *Lock) error {
	return safepath.WriteBytes(l.Path, 0o644, Format(l))
}

// Digest is the content key of one architecture of the lock: the header and that
// section's packages, without the date or comments. Caches of what is built from the
// section (the raw rootfs, builder images) are keyed by it, so a refresh that changes
// no package changes no key, and any package change changes it.
func (l *Lock) Digest(s *Section) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "guestforge package lock %d\n", FormatVersion)
	writeHeader(&b, l)
	fmt.Fprintf(&b, "arch %s\n", s.Arch)
	for _, e := range s.Packages {
		writeEntry(&b, e)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}
