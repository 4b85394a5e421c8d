// Package kata encodes, as plain data and pure functions, what Kata Containers'
// runtime does with the artifacts guestforge builds: the kernel_verity_params
// string, the root-device kernel parameters, the whole kernel command line the
// Go runtime (virtcontainers, QEMU) derives, the QEMU arguments for the root
// device and console, and the file names kata-deploy installs.
//
// Kata's source is the specification. Each function names the Kata file and
// function it mirrors, so a reviewer can diff behaviour against a newer Kata
// release; the tests pin the exact strings Kata produces.
//
// The package imports no Dagger and touches no files: callers pass values in
// and get values back.
package kata
