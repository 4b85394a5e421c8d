// Package kconfig turns the kernel-configs/ tree into one requested kernel
// configuration per (arch, variant), and proves after `make` that the kernel's
// Kconfig kept every request. It is pure Go (no Dagger, no make): the build
// pipeline runs the make steps and hands the resulting .config back.
//
// # API (what internal/build calls)
//
//	tree, err := kconfig.Load("kernel-configs")             // parses every fragment + allowlist; all syntax errors at once
//	                                                        // (an ErrorList of *Error, each file:line)
//	tree, err = kconfig.LoadKata(dir)                       // Kata's tools/packaging/kernel/configs/fragments instead
//	m, err := tree.Merge(arch.MustParse("x86_64"), "test")  // common -> <arch> -> variants/<name>; "default" = no variant
//	                                                        // errors.Is(err, kconfig.ErrNotApplicable): not a target for this arch
//	m.Overrides                                             // later levels replacing earlier values: log them
//	m.Bytes()                                               // deterministic merged fragment: write it to a file
//	m.ID()                                                  // 12 hex: the <cfg> in vmlinuz-<kver>-<cfg>
//	cmds := kconfig.ConfigCommands(a, kconfig.MakeOptions{  // the make steps, identical on host and in a container
//	    Fragment: "/work/guestforge.config", CrossCompile: a.CrossCompile(host), ObjDir: "/out"})
//	// run cmds in order in the kernel source tree, then read <ObjDir>/.config
//	series, _ := kconfig.Series("6.12.117")                 // "6.12"
//	allow, err := tree.Allowlist(series)                    // kernel-configs/allowlist/6.12.conf (empty if absent)
//	report, err := m.Verify(finalDotConfig, allow)          // err (*VerifyError) != nil: a requested symbol was dropped or
//	                                                        // changed; the message names symbol, wanted, got, fragment file:line
//	report.Excused                                          // allowlisted mismatches with their reasons: log them
//
// # Base configuration
//
// Every variant starts from allnoconfig with the merged fragment as
// KCONFIG_ALLCONFIG (the approach of Kata Containers' merge_config.sh -n): a
// symbol is on only because a fragment asked for it (or something it asked for
// selects it), so the fragments are the whole story and the same on every arch.
// olddefconfig runs afterwards so the pipeline's last step is the conventional
// one. tinyconfig is not used: it sets its own KCONFIG_ALLCONFIG, and the test
// variant carries the few tiny.config choices it wants itself.
//
// # Merge rules
//
//   - Levels apply in order common/ -> <arch>/ -> variants/<name>/, files in a
//     level in lexical order. A variant whose fragment says
//     "# guestforge: standalone" skips common/ and <arch>/ (the test variant).
//   - Same symbol, different value, in one level: error naming both file:line.
//     Same value twice in one level: allowed; twice in one file: error.
//   - A later level changing an earlier level's value: allowed, recorded in
//     Merged.Overrides.
//   - Header directives select fragments: arch=, exclude-arch=, variant=,
//     exclude-variant=, standalone (see kernel-configs/README.md).
//
// # Config id
//
// ID is the first 12 hex digits of sha256(Bytes()). Bytes holds a header
// naming the arch and the sorted settings, no file names or comments, so moving
// a symbol between fragments or editing a comment keeps the id, and changing
// any requested value (or the arch) changes it.
package kconfig
