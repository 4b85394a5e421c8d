package repro

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// writeTree writes files (relative path -> content) under a fresh directory.
func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// testELF returns this test binary's bytes (a real ELF file) and the file offset of
// its .rodata section.
func testELF(t *testing.T) ([]byte, int64) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Skipf("the test binary is not ELF on this platform: %v", err)
	}
	s := f.Section(".rodata")
	if s == nil {
		t.Fatal("the test binary has no .rodata")
	}
	return data, int64(s.Offset)
}

func TestCompareKernelFilesAndRank(t *testing.T) {
	vmlinux, rodata := testELF(t)
	flipped := bytes.Clone(vmlinux)
	flipped[rodata+0x40] ^= 0xff
	verity := bytes.Repeat([]byte{0xa5, 0, 0x5a}, 4096)
	verityB := bytes.Clone(verity)
	verityB[5000] ^= 1
	a := writeTree(t, map[string][]byte{
		"x86_64/config-6.12.117-abc":       []byte("CONFIG_A=y\nCONFIG_B=m\n"),
		"x86_64/vmlinux-6.12.117-abc":      vmlinux,
		"x86_64/rootfs-default.img.verity": verity,
		"x86_64/root_hash.txt":             []byte("aaaa  rootfs-default.img\nbbbb  rootfs-systemd.img\n"),
		"x86_64/initrd-systemd.img":        []byte("only in a"),
		"x86_64/System.map-6.12.117-abc":   []byte("ffffffff81000000 T _text\n"),
	})
	b := writeTree(t, map[string][]byte{
		"x86_64/config-6.12.117-abc":       []byte("CONFIG_A=y\nCONFIG_B=y\n"),
		"x86_64/vmlinux-6.12.117-abc":      flipped,
		"x86_64/rootfs-default.img.verity": verityB,
		"x86_64/root_hash.txt":             []byte("aaaa  rootfs-default.img\ncccc  rootfs-systemd.img\n"),
		"x86_64/System.map-6.12.117-abc":   []byte("ffffffff81000000 T _text\n"),
		"x86_64/vmlinuz-6.12.117-abc":      []byte("only in b"),
	})
	r := compare(t, [2]string{a, b})
	if r.Identical || len(r.Artifacts) != 7 || len(r.Mismatches()) != 6 {
		t.Fatalf("want 6 of 7 artifacts differing: %+v", r.Artifacts)
	}
	// The config is what the vmlinux was built from: it leads.
	if r.First != "x86_64/config-6.12.117-abc" {
		t.Errorf("first = %s, want the kernel config", r.First)
	}
	want := map[string]struct {
		kind            Kind
		offset          int64
		location, note  string
		missing         string
		identical       bool
		locationPrefix  bool
		offsetUnchecked bool
	}{
		"x86_64/config-6.12.117-abc":       {kind: KindText, offset: 20, location: `line 2: "CONFIG_B=m" != "CONFIG_B=y"`},
		"x86_64/vmlinux-6.12.117-abc":      {kind: KindELF, offset: rodata + 0x40, location: "section .rodata at +0x40"},
		"x86_64/rootfs-default.img.verity": {kind: KindBinary, offset: 5000},
		"x86_64/root_hash.txt":             {kind: KindText, offset: 25, location: `line 2: "bbbb  rootfs-systemd.img" != "cccc  rootfs-systemd.img"`},
		"x86_64/initrd-systemd.img":        {kind: KindText, missing: "b", offsetUnchecked: true},
		"x86_64/vmlinuz-6.12.117-abc":      {kind: KindText, missing: "a", offsetUnchecked: true},
		"x86_64/System.map-6.12.117-abc":   {kind: KindText, identical: true, offsetUnchecked: true},
	}
	for _, art := range r.Artifacts {
		w, ok := want[art.Path]
		if !ok {
			t.Errorf("unexpected artifact %s", art.Path)
			continue
		}
		if art.Kind != w.kind || art.Missing != w.missing || art.Identical != w.identical || art.Location != w.location {
			t.Errorf("%s: got kind %s missing %q identical %v location %q; want %s %q %v %q",
				art.Path, art.Kind, art.Missing, art.Identical, art.Location, w.kind, w.missing, w.identical, w.location)
		}
		if !w.offsetUnchecked && (art.Offset == nil || *art.Offset != w.offset) {
			t.Errorf("%s: first difference %v, want %d", art.Path, art.Offset, w.offset)
		}
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(text.String(), "\n")
	if first != `FAIL x86_64/config-6.12.117-abc (text): first difference at byte 20 (0x14), line 2: "CONFIG_B=m" != "CONFIG_B=y"` {
		t.Errorf("first line: %s", first)
	}
	for _, s := range []string{"6 of 7 artifacts differ", "missing in b", "section .rodata at +0x40"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Identical bool   `json:"identical"`
		First     string `json:"first"`
		Artifacts []struct {
			Path    string `json:"path"`
			Missing string `json:"missing"`
			Offset  *int64 `json:"first_difference_offset"`
			SHA256A string `json:"sha256_a"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, js.String())
	}
	if back.Identical || back.First != r.First || len(back.Artifacts) != 7 || back.Artifacts[0].SHA256A != r.Artifacts[0].SHA256A {
		t.Errorf("JSON report does not carry the report: %s", js.String())
	}
}

func TestCompareBadInput(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("x"), 0o644)
	for name, dirs := range map[string][2]string{
		"missing":  {filepath.Join(empty, "nope"), empty},
		"file":     {file, empty},
		"no files": {empty, t.TempDir()},
	} {
		if _, err := Compare(t.Context(), dirs[0], dirs[1], Options{}); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", name, err)
		}
	}
}

func TestCompareIdenticalTrees(t *testing.T) {
	files := map[string][]byte{"x86_64/root_hash.txt": []byte("aaaa  rootfs-default.img\n"), "aarch64/initrd-default.img": {1, 2, 3}}
	r := compare(t, [2]string{writeTree(t, files), writeTree(t, files)})
	if !r.Identical || r.First != "" || !strings.HasPrefix(r.Summary(), "PASS 2 artifacts identical") {
		t.Fatalf("%s %+v", r.Summary(), r)
	}
}

func TestDiffoscopeOnFirstMismatch(t *testing.T) {
	testenv.RequireTool(t, "diffoscope")
	a := writeTree(t, map[string][]byte{"x86_64/root_hash.txt": []byte("aaaa  rootfs-default.img\n")})
	b := writeTree(t, map[string][]byte{"x86_64/root_hash.txt": []byte("bbbb  rootfs-default.img\n")})
	out := t.TempDir()
	r, err := Compare(t.Context(), a, b, Options{DiffoscopeDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if r.Diffoscope == "" {
		t.Fatalf("no diffoscope report: %s", r.DiffoscopeNote)
	}
	data, err := os.ReadFile(r.Diffoscope)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "-aaaa  rootfs-default.img") || !strings.Contains(string(data), "+bbbb  rootfs-default.img") {
		t.Errorf("diffoscope's report does not show the changed line:\n%s", data)
	}
	if filepath.Dir(r.Diffoscope) != out {
		t.Errorf("report written to %s, not into %s", r.Diffoscope, out)
	}
}

func TestTextLocationShowsTheDifferenceOfALongLine(t *testing.T) {
	line := "dm-mod.create=\"guestforge-root,,,ro,0 327680 verity 1 /dev/vda /dev/vdb 4096 4096 40960 1 sha256 " + strings.Repeat("0", 64)
	a := writeTree(t, map[string][]byte{"c": []byte(line + "\n")})
	b := writeTree(t, map[string][]byte{"c": []byte(strings.Replace(line, "sha256 0000", "sha256 0001", 1) + "\n")})
	got := textLocation(filepath.Join(a, "c"), filepath.Join(b, "c"))
	col := strings.Index(line, "sha256 ") + len("sha256 000")
	if col != 100 {
		t.Fatalf("test line changed: the difference is at index %d", col)
	}
	// 30 bytes before the first differing byte, 50 from it.
	want := `line 1 column 101: …"` + line[70:150] + `"… != …"` + strings.Replace(line, "sha256 0000", "sha256 0001", 1)[70:150] + `"…`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDiffoscopeSkipsLargeArtifacts(t *testing.T) {
	a := writeTree(t, map[string][]byte{"x86_64/rootfs-default.img.verity": bytes.Repeat([]byte{1}, 4096)})
	b := writeTree(t, map[string][]byte{"x86_64/rootfs-default.img.verity": bytes.Repeat([]byte{2}, 4096)})
	r, err := Compare(t.Context(), a, b, Options{DiffoscopeMaxBytes: 1024,
		// Found or not, the size limit decides first.
		LookPath: func(string) (string, error) { return "/usr/bin/diffoscope", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Diffoscope != "" || !strings.Contains(r.DiffoscopeNote, "4096 bytes is over the limit of 1024") || !strings.Contains(r.DiffoscopeNote, "run it by hand: diffoscope ") {
		t.Errorf("diffoscope %q, note %q", r.Diffoscope, r.DiffoscopeNote)
	}
}
