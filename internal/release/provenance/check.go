package provenance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// MaxProvenanceBytes bounds provenance.intoto.jsonl: one statement per
// release with a subject per artifact takes a few KiB.
const MaxProvenanceBytes = 16 * boundedio.MiB

// Read parses a provenance.intoto.jsonl file: one statement a line, each an
// in-toto Statement v1 with a SLSA Provenance v1 predicate.
func Read(file string) ([]Statement, error) {
	body, err := boundedio.ReadFileLimit(file, MaxProvenanceBytes, "a provenance file")
	if err != nil {
		return nil, fmt.Errorf("read provenance: %w", err)
	}
	return Parse(file, body)
}

// Parse decodes provenance statements held in memory; file names them in
// errors (file:line).
func Parse(file string, body []byte) ([]Statement, error) {
	var out []Statement
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var st Statement
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return nil, fmt.Errorf("%s:%d: not a provenance statement: %w", file, line, err)
		}
		if st.Type != StatementType || st.PredicateType != PredicateType {
			return nil, fmt.Errorf("%s:%d: statement type %q / predicate %q, want %s / %s", file, line, st.Type, st.PredicateType, StatementType, PredicateType)
		}
		out = append(out, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no statements", file)
	}
	return out, nil
}

// Check verifies the provenance's subjects are exactly the tree's artifacts
// with their current digests; the error names the first artifact that
// differs, is missing from the tree, or is not covered.
func Check(t *dist.Tree) error {
	if !t.Has(dist.ProvenanceFile) {
		return fmt.Errorf("%s: missing (run `release attest`)", dist.ProvenanceFile)
	}
	sts, err := Read(t.Path(dist.ProvenanceFile))
	if err != nil {
		return err
	}
	subjects := map[string]string{}
	for _, st := range sts {
		for _, s := range st.Subject {
			if err := dist.CheckRel(s.Name); err != nil {
				return fmt.Errorf("%s: subject: %w", dist.ProvenanceFile, err)
			}
			want := s.Digest["sha256"]
			if want == "" {
				return fmt.Errorf("%s: subject %s has no sha256 digest", dist.ProvenanceFile, s.Name)
			}
			if !t.Covers(s.Name) {
				continue
			}
			if prev, dup := subjects[s.Name]; dup && prev != want {
				return fmt.Errorf("%s: subject %s appears with two digests", dist.ProvenanceFile, s.Name)
			}
			subjects[s.Name] = want
		}
	}
	artifacts := t.Artifacts()
	for _, rel := range artifacts {
		want, ok := subjects[rel]
		if !ok {
			return fmt.Errorf("%s: not a subject of %s (an artifact the recorded build did not produce)", rel, dist.ProvenanceFile)
		}
		got, err := sums.File(t.Path(rel))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: sha256 %s, %s says %s", rel, got, dist.ProvenanceFile, want)
		}
		delete(subjects, rel)
	}
	if missing := sortedKeys(subjects); len(missing) > 0 {
		return fmt.Errorf("%s: subject of %s but not in the tree", missing[0], dist.ProvenanceFile)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReleaseVersion is the release version the statements in file record
// (externalParameters.version, written by New from the tree's directory
// name). Every statement must record the same one: the version is what
// `release verify` binds the tree's name to.
func ReleaseVersion(file string) (string, error) {
	sts, err := Read(file)
	if err != nil {
		return "", err
	}
	version := ""
	for i, st := range sts {
		v, _ := st.Predicate.BuildDefinition.ExternalParameters["version"].(string)
		if v == "" {
			return "", fmt.Errorf("%s: statement %d records no release version (buildDefinition.externalParameters.version): re-run `release attest`", file, i+1)
		}
		if version != "" && v != version {
			return "", fmt.Errorf("%s: statements record two release versions, %s and %s", file, version, v)
		}
		version = v
	}
	return version, nil
}
