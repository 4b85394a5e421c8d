package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/safepath"
)

// MaxInputBytes bounds the JSON files the report reads (build records, earlier
// releases' report.json): a report of thousands of artifacts is a few MiB.
const MaxInputBytes = 64 * boundedio.MiB

// marshal is the one JSON encoding of everything this package writes:
// two-space indent, no HTML escaping (paths stay readable), a final newline.
// Structs fix the field order and encoding/json sorts map keys, so equal
// values give equal bytes.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return b.Bytes(), nil
}

// Marshal returns the bytes of report.json for r.
func Marshal(r *Report) ([]byte, error) { return marshal(r) }

// WriteJSON writes r as report.json to file.
func WriteJSON(file string, r *Report) error {
	data, err := Marshal(r)
	if err != nil {
		return err
	}
	return writeFile(file, data)
}

// ReadJSON reads a report.json written by this or an earlier build.
func ReadJSON(file string) (*Report, error) {
	data, err := boundedio.ReadFileLimit(file, MaxInputBytes, "a report")
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r Report
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w (want a %s written by `release report`)", file, jsonWhere(data, err), JSONFile)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q: regenerate it with this version of `release report`", file, r.Schema, Schema)
	}
	if r.Version == "" {
		return nil, fmt.Errorf("%s: no version: history needs to know which release a report is", file)
	}
	return &r, nil
}

// jsonWhere adds line:column to a decode error that knows its byte offset.
func jsonWhere(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}

// writeFile replaces file atomically so a reader (a browser, CI upload)
// never sees half a report.
func writeFile(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return safepath.WriteBytes(file, 0o644, data)
}
