package report

import (
	"strings"
	"testing"
)

// `release build` leaves the arch directories directly in dist/, with logs/
// beside them; the report covers the arches and links the logs.
func TestBuildOfADistWithLogsBesideTheArches(t *testing.T) {
	dir := t.TempDir()
	writeBytes(t, dir, "x86_64/vmlinuz-6.12.117-3f2a9c1d", 900)
	writeBytes(t, dir, "x86_64/initrd-default.img", 400)
	writeBytes(t, dir, "logs/kernel-x86_64-test.log", 100)
	rec := &Record{Steps: []RecordStep{{ID: "kernel/x86_64/test", Kind: "kernel", Arch: "x86_64", Variant: "test",
		Status: StatusOK, DurationMS: 1000, Log: "logs/kernel-x86_64-test.log", Outputs: []string{"x86_64/vmlinuz-6.12.117-3f2a9c1d"}}}}
	r, err := Build(Options{Dist: dir, Record: rec, Toolchain: fixtureToolchain()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Artifacts != 2 {
		t.Fatalf("%d artifacts, want the kernel and the initrd (no logs): %+v", r.Totals.Artifacts, r.Artifacts)
	}
	k := r.Artifacts[0]
	// test is no target: the test kernel stands for every x86_64 target.
	if k.Variant != "test" || strings.Join(k.Maintainers, ",") != "@debug,@x86" || k.Support != "supported" {
		t.Errorf("test kernel = variant %q maintainers %v support %q", k.Variant, k.Maintainers, k.Support)
	}
}

// A variant that is a target still belongs to that target alone.
func TestAttributeKeepsATargetVariant(t *testing.T) {
	r := &Report{Artifacts: []Artifact{{Arch: "x86_64", Variant: "debug", Kind: "vmlinuz"}}}
	tc := fixtureToolchain()
	if err := attribute(r, tc); err != nil {
		t.Fatal(err)
	}
	if a := r.Artifacts[0]; strings.Join(a.Maintainers, ",") != "@debug" || a.Support != "experimental" {
		t.Errorf("debug kernel = %v %q", a.Maintainers, a.Support)
	}
}
