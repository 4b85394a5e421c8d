// Package build holds guestforge's Dagger pipelines: builder images and the guest
// kernel. It is the one package (with ci/) that imports Dagger; everything that can be
// decided without a container lives in pure packages (internal/kconfig,
// internal/manifest, internal/arch, and the helpers under internal/build/).
//
// Both front doors use it the same way: `release build` is Run, which opens its session
// with Open (the library client); the ci/ Dagger module joins its own session with
// dagger.Connect and returns the results by ID. Both build a single kernel with
// GatedKernel, so the support gate applies to both.
package build
