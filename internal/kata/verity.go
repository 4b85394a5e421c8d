package kata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// VerityParams is the dm-verity description Kata's runtime reads from the
// kernel_verity_params key of configuration.toml and turns into a
// dm-mod.create kernel parameter. The values are what `veritysetup format
// --no-superblock` prints for the image's p1 (data) and p2 (hash tree).
type VerityParams struct {
	// RootHash and Salt are lowercase hex, as veritysetup prints them.
	RootHash string
	Salt     string
	// DataBlocks is the number of DataBlockSize blocks in the data partition.
	DataBlocks    uint64
	DataBlockSize uint64
	HashBlockSize uint64
}

// verityBlockSize is the granularity Kata demands of both block sizes: the
// dm-verity table counts in 512-byte sectors.
const verityBlockSize = 512

// Format prints v exactly as Kata's image builder does
// (tools/osbuilder/image-builder/image_builder.sh build_kernel_verity_params),
// which is also the content of its root_hash_<variant>.txt without the
// trailing newline.
func (v VerityParams) Format() string {
	return fmt.Sprintf("root_hash=%s,salt=%s,data_blocks=%d,data_block_size=%d,hash_block_size=%d",
		v.RootHash, v.Salt, v.DataBlocks, v.DataBlockSize, v.HashBlockSize)
}

// ParseVerityParams reads a kernel_verity_params value with the rules of Kata's
// runtime (src/runtime/virtcontainers/hypervisor.go ParseKernelVerityParams):
// a blank string means "no verity" and returns nil, nil; fields are
// comma-separated key=value pairs, blank fields are ignored, a repeated key
// keeps its last value and unknown keys are ignored; all five fields are
// required, the counts must be non-zero decimal integers and both block sizes
// multiples of 512. A string this function accepts is one Kata accepts.
func ParseVerityParams(s string) (*VerityParams, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	values := map[string]string{}
	for _, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("%w: field %q has no '=': write key=value pairs separated by commas", errVerity, field)
		}
		values[key] = value
	}
	v := &VerityParams{RootHash: values["root_hash"], Salt: values["salt"]}
	// Kata checks the fields in this order; keeping it means the same
	// malformed string is blamed on the same field by both.
	if v.RootHash == "" {
		return nil, missingField("root_hash", "Root hash")
	}
	var err error
	if v.DataBlocks, err = parseCount(values, "data_blocks", "Data blocks"); err != nil {
		return nil, err
	}
	if v.DataBlockSize, err = parseCount(values, "data_block_size", "Data block size"); err != nil {
		return nil, err
	}
	if v.HashBlockSize, err = parseCount(values, "hash_block_size", "Hash block size"); err != nil {
		return nil, err
	}
	if v.Salt == "" {
		return nil, missingField("salt", "Salt")
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// Validate applies Kata's value rules to v: root hash and salt present, counts
// non-zero, block sizes multiples of 512.
func (v VerityParams) Validate() error {
	switch {
	case v.RootHash == "":
		return missingField("root_hash", "Root hash")
	case v.Salt == "":
		return missingField("salt", "Salt")
	case v.DataBlocks == 0:
		return zeroField("data_blocks")
	case v.DataBlockSize == 0:
		return zeroField("data_block_size")
	case v.HashBlockSize == 0:
		return zeroField("hash_block_size")
	case v.DataBlockSize%verityBlockSize != 0:
		return notMultiple("data_block_size", v.DataBlockSize)
	case v.HashBlockSize%verityBlockSize != 0:
		return notMultiple("hash_block_size", v.HashBlockSize)
	}
	return nil
}

// errVerity gives every verity error the same prefix, the configuration.toml
// key the user has to fix.
var errVerity = errors.New("kernel_verity_params")

func missingField(key, veritysetupLabel string) error {
	return fmt.Errorf("%w: field %q is missing: copy it from the %q line of `veritysetup format` (or the image's root_hash_*.txt)",
		errVerity, key, veritysetupLabel+":")
}

func zeroField(key string) error {
	return fmt.Errorf("%w: field %q is 0: dm-verity needs a positive value", errVerity, key)
}

func notMultiple(key string, got uint64) error {
	return fmt.Errorf("%w: field %q is %d, not a multiple of %d bytes: use the block size veritysetup was run with (4096 by default)",
		errVerity, key, got, verityBlockSize)
}

func parseCount(values map[string]string, key, veritysetupLabel string) (uint64, error) {
	raw, ok := values[key]
	if !ok || raw == "" {
		return 0, missingField(key, veritysetupLabel)
	}
	n, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: field %q is %q, not a decimal integer: %w", errVerity, key, raw, err)
	}
	return n, nil
}

// RootHashFile is the content of Kata's root_hash_<variant>.txt for v: the
// Format string and a newline, as setup_verity writes it with printf '%s\n'.
func (v VerityParams) RootHashFile() []byte {
	return []byte(v.Format() + "\n")
}
