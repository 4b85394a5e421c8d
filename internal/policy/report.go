package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is the outcome for one pin.
type Status string

// Statuses, from best to worst. Excepted sits between warn and violation:
// the pin is outside policy and only a dated exception lets it pass.
const (
	StatusOK        Status = "ok"
	StatusWarn      Status = "warn"
	StatusExcepted  Status = "excepted"
	StatusViolation Status = "violation"
)

// Kinds of rows. A toolchain pin's row has its feed's name as kind (go, rust).
const (
	KindKernel = "kernel"
	KindEdk2   = "edk2"
	KindModule = "module"
	// KindDistro is the distro suite's row (manifest.DistroName).
	KindDistro = "debian"
	// KindException is a row for an exception that matches no pin.
	KindException = "exception"
)

// Row is the verdict for one pin.
type Row struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Pinned string `json:"pinned"`
	// Latest is the newest stable release upstream (for the kernel: of the
	// pinned series).
	Latest string `json:"latest"`
	// Floor is the oldest minor release (kernel: longterm series) the policy allows.
	Floor  string `json:"floor"`
	Status Status `json:"status"`
	// Why says what was found and what to do, starting with file:line.
	Why  string `json:"why"`
	File string `json:"file"`
	Line int    `json:"line"`
}

// Report is the outcome of Check.
type Report struct {
	Manifest string `json:"manifest"`
	AsOf     string `json:"as_of"`
	Lag      int    `json:"lag"`
	Rows     []Row  `json:"rows"`
}

// Count returns how many rows have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, row := range r.Rows {
		if row.Status == s {
			n++
		}
	}
	return n
}

// Violations returns the rows that fail the gate.
func (r *Report) Violations() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Status == StatusViolation {
			out = append(out, row)
		}
	}
	return out
}

// Summary is one line: counts by status.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d pins checked as of %s (N-%d): %d ok, %d warn, %d excepted, %d violation",
		len(r.Rows), r.AsOf, r.Lag, r.Count(StatusOK), r.Count(StatusWarn), r.Count(StatusExcepted), r.Count(StatusViolation))
}

// WriteTable prints the rows for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPINNED\tLATEST\tFLOOR\tSTATUS\tWHY")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Name, dash(row.Pinned), dash(row.Latest), dash(row.Floor), strings.ToUpper(string(row.Status)), row.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// WriteJSON prints the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
