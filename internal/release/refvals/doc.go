// Package refvals writes and verifies reference-values-<variant>.json: for
// one confidential target (an arch and a kernel variant of toolchain.yaml
// with a measure: matrix), the values an attestation service compares a
// guest's report with. The file holds the digests of the files a launch
// uses (kernel, initrd, firmware), the firmware's identity, the exact kernel
// command line Kata's runtime gives that guest (internal/kata), and the
// launch measurement for every point of the matrix: the SEV-SNP launch
// digest per vCPU count × CPU type × guest features (internal/snpmeasure),
// the TDX MRTD per page order (internal/tdxmeasure).
//
// The schema is versioned (SchemaVersion, MediaType) and documented in
// docs/reference-values.md. The bytes are deterministic: fixed field order,
// every list sorted, two-space indentation, one final newline, no time and
// no path of the machine. The same release gives the same file anywhere.
//
// Verify recomputes a file from the release's own files and the matrix the
// file states, and names the first value that differs, so a release whose
// kernel, initrd, firmware or command line changed after attest cannot pass
// with stale values. Nothing here runs a VM or needs Dagger.
package refvals
