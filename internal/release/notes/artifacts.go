package notes

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/kata"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/refvals"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// Artifact is one row of the artifact table.
type Artifact struct {
	Name   string // file name
	Arch   string // arch directory, "" for files at the top of the tree
	Size   int64
	SHA256 string
	// KataVerityParams is the kernel_verity_params value a verity-<image>.params
	// file holds (empty for every other artifact): the notes print it, so a
	// user can configure Kata from the release page.
	KataVerityParams string
	// ReferenceValues is what a reference-values-<variant>.json holds (nil
	// for every other artifact): the notes print its launch measurements.
	ReferenceValues *refvals.Document
}

// Artifacts lists the build artifacts of the dist/<version>/ tree at dir
// with their sizes and digests. When the tree already has SHA256SUMS, every
// digest must agree with it: notes that publish a digest the signed sums
// file contradicts would send users chasing a corrupted download.
func Artifacts(dir string) ([]Artifact, error) {
	t, err := dist.Open(dir)
	if err != nil {
		return nil, err
	}
	signed := map[string]string{}
	if t.Has(dist.SumsFile) {
		entries, err := sums.ReadFile(t.Path(dist.SumsFile))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			signed[e.Path] = e.SHA256
		}
	}
	var out []Artifact
	for _, rel := range t.Artifacts() {
		fi, err := os.Stat(t.Path(rel))
		if err != nil {
			return nil, fmt.Errorf("artifact table: %w", err)
		}
		sum, err := sums.File(t.Path(rel))
		if err != nil {
			return nil, fmt.Errorf("artifact table: %w", err)
		}
		if want, ok := signed[rel]; ok && want != sum {
			return nil, fmt.Errorf("artifact table: %s has sha256 %s but %s says %s: the tree changed after it was summed; rebuild or re-run the checksum stage",
				rel, sum, filepath.Join(t.Root, dist.SumsFile), want)
		}
		dir, name := path.Split(rel)
		a := Artifact{Name: name, Arch: path.Clean(dir), Size: fi.Size(), SHA256: sum}
		switch kind, _, _ := artifact.KindOf(name); kind {
		case artifact.VerityParams:
			if a.KataVerityParams, err = readVerityParams(t.Path(rel)); err != nil {
				return nil, fmt.Errorf("artifact table: %w", err)
			}
		case artifact.ReferenceValues:
			if a.ReferenceValues, err = readReferenceValues(t.Path(rel), rel); err != nil {
				return nil, fmt.Errorf("artifact table: %w", err)
			}
		}
		out = append(out, a)
		if dir == "" {
			out[len(out)-1].Arch = ""
		}
	}
	return out, nil
}

// readVerityParams reads a verity-<image>.params file: one line Kata's runtime
// accepts as kernel_verity_params.
func readVerityParams(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", err
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s is over 4 KiB: a kernel_verity_params line is about 200 bytes; rebuild the image", file)
	}
	line := strings.TrimSuffix(string(b), "\n")
	if v, err := kata.ParseVerityParams(line); err != nil || v == nil {
		return "", fmt.Errorf("%s does not hold a kernel_verity_params value Kata accepts (%v): rebuild the image", file, err)
	}
	return line, nil
}

// readReferenceValues reads a reference-values file of the schema this
// release tool writes; rel names it in errors.
func readReferenceValues(file, rel string) (*refvals.Document, error) {
	b, err := boundedio.ReadFileLimit(file, refvals.MaxFileBytes, "a reference-values file")
	if err != nil {
		return nil, err
	}
	return refvals.Parse(rel, b)
}
