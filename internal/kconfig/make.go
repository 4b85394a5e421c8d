package kconfig

import "github.com/guestforge/guestforge/internal/arch"

// BaseTarget is the make target every variant starts from; see the package
// documentation for why it is allnoconfig.
const BaseTarget = "allnoconfig"

// MakeOptions are the paths of one configuration run.
type MakeOptions struct {
	// Fragment is the file holding Merged.Bytes(). Use an absolute path:
	// with O= make changes directory before Kconfig opens it.
	Fragment string
	// CrossCompile is the CROSS_COMPILE prefix (arch.Arch.CrossCompile);
	// Kconfig probes the compiler, so foreign arches need it already here.
	CrossCompile string
	// ObjDir is the O= output directory (absolute); empty builds in the
	// source tree. Kconfig refuses O= when the source tree has a .config.
	ObjDir string
}

// ConfigCommands returns the make invocations, to run in order from the
// kernel source directory, that turn the merged fragment into <ObjDir>/.config:
// allnoconfig with KCONFIG_ALLCONFIG=<fragment>, then olddefconfig.
func ConfigCommands(a arch.Arch, o MakeOptions) [][]string {
	common := []string{"make", "ARCH=" + a.KernelArch}
	if o.CrossCompile != "" {
		common = append(common, "CROSS_COMPILE="+o.CrossCompile)
	}
	if o.ObjDir != "" {
		common = append(common, "O="+o.ObjDir)
	}
	base := append(append([]string{}, common...), "KCONFIG_ALLCONFIG="+o.Fragment, BaseTarget)
	old := append(append([]string{}, common...), "olddefconfig")
	return [][]string{base, old}
}
