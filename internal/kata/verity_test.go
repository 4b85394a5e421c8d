package kata

import (
	"errors"
	"testing"
)

const (
	testRootHash = "8c5e05a57b3fa4d2af0eb5a1f6a0a8a06e7b0a4ec3fdf5e55c47b0fbd5d1bd4b"
	testSalt     = "1f6a1d2f0d6c0e4a9a7e8b1f3a3d1b2c4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"
)

func testVerity() VerityParams {
	return VerityParams{RootHash: testRootHash, Salt: testSalt, DataBlocks: 131072, DataBlockSize: 4096, HashBlockSize: 4096}
}

func TestVerityFormat(t *testing.T) {
	got := testVerity().Format()
	want := "root_hash=" + testRootHash + ",salt=" + testSalt + ",data_blocks=131072,data_block_size=4096,hash_block_size=4096"
	if got != want {
		t.Fatalf("Format:\n got %s\nwant %s", got, want)
	}
	back, err := ParseVerityParams(got)
	if err != nil {
		t.Fatalf("ParseVerityParams(Format()): %v", err)
	}
	if *back != testVerity() {
		t.Fatalf("round trip: got %+v, want %+v", *back, testVerity())
	}
}

func TestParseVerityParams(t *testing.T) {
	full := testVerity().Format()
	tests := []struct {
		name string
		in   string
		want *VerityParams
		err  string
	}{
		{name: "blank means no verity", in: "  \t", want: nil},
		{name: "empty", in: "", want: nil},
		{name: "image builder output", in: full, want: ptr(testVerity())},
		{name: "blank fields and spaces ignored, unknown keys ignored",
			in:   " ,root_hash=" + testRootHash + ", salt=" + testSalt + ",,data_blocks=131072 ,data_block_size=4096,hash_block_size=4096,extra=1,",
			want: ptr(testVerity())},
		{name: "last value of a repeated key wins",
			in:   "data_blocks=7," + full,
			want: ptr(testVerity())},
		{name: "field without =", in: "root_hash", err: `kernel_verity_params: field "root_hash" has no '=': write key=value pairs separated by commas`},
		{name: "missing root_hash", in: "salt=" + testSalt + ",data_blocks=1,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "root_hash" is missing: copy it from the "Root hash:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "empty root_hash", in: "root_hash=,salt=" + testSalt + ",data_blocks=1,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "root_hash" is missing: copy it from the "Root hash:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "missing data_blocks", in: "root_hash=aa,salt=bb,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "data_blocks" is missing: copy it from the "Data blocks:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "empty data_blocks", in: "root_hash=aa,salt=bb,data_blocks=,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "data_blocks" is missing: copy it from the "Data blocks:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "non-numeric data_blocks", in: "root_hash=aa,salt=bb,data_blocks=12x,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "data_blocks" is "12x", not a decimal integer: strconv.ParseUint: parsing "12x": invalid syntax`},
		{name: "negative data_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=-4096,hash_block_size=4096",
			err: `kernel_verity_params: field "data_block_size" is "-4096", not a decimal integer: strconv.ParseUint: parsing "-4096": invalid syntax`},
		{name: "missing data_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,hash_block_size=4096",
			err: `kernel_verity_params: field "data_block_size" is missing: copy it from the "Data block size:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "missing hash_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=4096",
			err: `kernel_verity_params: field "hash_block_size" is missing: copy it from the "Hash block size:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "overflowing hash_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=4096,hash_block_size=18446744073709551616",
			err: `kernel_verity_params: field "hash_block_size" is "18446744073709551616", not a decimal integer: strconv.ParseUint: parsing "18446744073709551616": value out of range`},
		{name: "missing salt (checked after the counts, as Kata does)", in: "root_hash=aa,data_blocks=1,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "salt" is missing: copy it from the "Salt:" line of ` + "`veritysetup format`" + ` (or the image's root_hash_*.txt)`},
		{name: "zero data_blocks", in: "root_hash=aa,salt=bb,data_blocks=0,data_block_size=4096,hash_block_size=4096",
			err: `kernel_verity_params: field "data_blocks" is 0: dm-verity needs a positive value`},
		{name: "zero data_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=0,hash_block_size=4096",
			err: `kernel_verity_params: field "data_block_size" is 0: dm-verity needs a positive value`},
		{name: "zero hash_block_size", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=4096,hash_block_size=0",
			err: `kernel_verity_params: field "hash_block_size" is 0: dm-verity needs a positive value`},
		{name: "data_block_size not a multiple of 512", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=1000,hash_block_size=4096",
			err: `kernel_verity_params: field "data_block_size" is 1000, not a multiple of 512 bytes: use the block size veritysetup was run with (4096 by default)`},
		{name: "hash_block_size not a multiple of 512", in: "root_hash=aa,salt=bb,data_blocks=1,data_block_size=4096,hash_block_size=513",
			err: `kernel_verity_params: field "hash_block_size" is 513, not a multiple of 512 bytes: use the block size veritysetup was run with (4096 by default)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVerityParams(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("ParseVerityParams(%q) = %+v, want error %q", tt.in, got, tt.err)
				}
				if err.Error() != tt.err {
					t.Fatalf("error:\n got %s\nwant %s", err, tt.err)
				}
				if !errors.Is(err, errVerity) {
					t.Fatalf("error %v does not wrap errVerity", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVerityParams(%q): %v", tt.in, err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("ParseVerityParams(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
