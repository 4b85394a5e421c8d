// Package manifest loads and validates toolchain.yaml and images/*.yaml.
// It is the only parser of those files.
package manifest

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Load reads and validates toolchain.yaml.
// TODO(issue 2): full validation with file:line:column errors.
func Load(path string) (*Toolchain, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a manifest held in memory; path is used in errors only.
func Parse(path string, data []byte) (*Toolchain, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Toolchain
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	return &t, nil
}

// LoadImage reads and validates one images/<name>.yaml.
func LoadImage(path string) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image definition: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var img Image
	if err := dec.Decode(&img); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img.Path = path
	return &img, nil
}
