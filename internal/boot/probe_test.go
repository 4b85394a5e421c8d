package boot

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/testenv"
)

// TestBuildProbeAllArches: the probe cross-builds for every guestforge
// architecture into a static ELF of that architecture, and the build is
// reproducible (built twice, from different directories, same bytes).
func TestBuildProbeAllArches(t *testing.T) {
	testenv.RequireTool(t, "go")
	for _, a := range arch.All() {
		t.Run(a.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "bootprobe")
			if err := BuildProbe(context.Background(), a, out, ""); err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, ok := arch.FromELF(f.Machine, f.Class, f.Data)
			if !ok || got.Name != a.Name {
				t.Fatalf("built %v/%v/%v, want %s", f.Machine, f.Class, f.Data, a.Name)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Fatal("the probe is dynamically linked; it must run in an empty initrd")
				}
			}
			if a.Name != "x86_64" {
				return
			}
			// Reproducibility: a second build from another working directory.
			again := filepath.Join(t.TempDir(), "bootprobe")
			if err := BuildProbe(context.Background(), a, again, "../../cmd/bootprobe"); err != nil {
				t.Fatal(err)
			}
			x, _ := os.ReadFile(out)
			y, _ := os.ReadFile(again)
			if !bytes.Equal(x, y) {
				t.Fatalf("two builds differ (%d vs %d bytes)", len(x), len(y))
			}
		})
	}
}
