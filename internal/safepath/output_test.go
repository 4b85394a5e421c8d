package safepath

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	agent := filepath.Join(dir, "agent")
	root := filepath.Join(dir, "root")
	must(os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.Symlink(agent, filepath.Join(dir, "link-to-agent")))
	must(os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")))
	must(os.Symlink(root, filepath.Join(dir, "rootlink")))
	must(os.Link(agent, filepath.Join(dir, "hardlink")))
	inputs := []string{agent, root, "", Stdout}

	for _, c := range []struct {
		name, out string
		want      string // "" means accepted
	}{
		{"new file beside the inputs", filepath.Join(dir, "initrd.img"), ""},
		{"existing regular file", filepath.Join(dir, "hardlink-free"), ""},
		{"new file in a new directory", filepath.Join(dir, "new", "sub", "x.img"), ""},
		{"empty", "", "no output path given: name the file to write"},
		{"stdout", "-", `output "-" (standard output) is not supported here: give a file path`},
		{"the agent", agent, "output " + agent + " is the input " + agent + ": writing it would destroy the input; choose another output path"},
		{"the agent, relative and unclean", filepath.Join(dir, "root", "..", "agent"), " is the input " + agent},
		{"inside the root", filepath.Join(root, "etc", "initrd.img"), "output " + filepath.Join(root, "etc", "initrd.img") + " is inside the input " + root + ": writing it would change the input; choose an output outside it"},
		{"inside the root through a linked parent", filepath.Join(dir, "rootlink", "x.img"), " is inside the input " + root},
		{"the directory holding the inputs", dir, "output " + dir + " holds the input " + agent},
		{"a symlink to the agent", filepath.Join(dir, "link-to-agent"), "output " + filepath.Join(dir, "link-to-agent") + " is a symlink to " + agent + ": refusing to write through it or replace it; remove the link or choose another path"},
		{"a dangling symlink", filepath.Join(dir, "dangling"), " is a symlink to " + filepath.Join(dir, "nowhere") + ": refusing"},
		{"a hard link to the agent", filepath.Join(dir, "hardlink"), "output " + filepath.Join(dir, "hardlink") + " is the input " + agent},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "existing regular file" {
				must(os.WriteFile(c.out, []byte("old"), 0o644))
			}
			err := CheckOutput(c.out, inputs...)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted; want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
	t.Run("a link to an input counts as the input", func(t *testing.T) {
		err := CheckOutput(agent, filepath.Join(dir, "link-to-agent"))
		if err == nil || !strings.Contains(err.Error(), " is the input ") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestWriteFile(t *testing.T) {
	leftovers := func(t *testing.T, dir string) []string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	t.Run("writes and replaces", func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "report.json")
		for _, content := range []string{"first\n", "second\n"} {
			if err := WriteBytes(dst, 0o644, []byte(content)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil || string(got) != content {
				t.Fatalf("read %q, %v; want %q", got, err, content)
			}
		}
		st, err := os.Stat(dst)
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Fatalf("mode %v, %v; want 0644", st.Mode(), err)
		}
		if names := leftovers(t, dir); len(names) != 1 {
			t.Fatalf("directory holds %q; want only report.json", names)
		}
	})
	t.Run("a failed write keeps the old file and leaves no temporary", func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "initrd.img")
		if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(dst, 0o644, func(w io.Writer) error {
			io.WriteString(w, "half")
			return errors.New("compressor died")
		})
		if err == nil || err.Error() != "write "+dst+": compressor died" {
			t.Fatalf("error %v", err)
		}
		if got, _ := os.ReadFile(dst); string(got) != "old" {
			t.Fatalf("destination now %q; want it untouched", got)
		}
		if names := leftovers(t, dir); len(names) != 1 {
			t.Fatalf("directory holds %q; want only initrd.img", names)
		}
	})
	t.Run("a failed rename names the destination, not the temporary", func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "out")
		if err := os.MkdirAll(filepath.Join(dst, "busy"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := WriteBytes(dst, 0o644, []byte("x"))
		if err == nil || !strings.HasPrefix(err.Error(), "write "+dst+": ") || strings.Contains(err.Error(), ".tmp-") {
			t.Fatalf("error %v; want it to name %s and not the temporary file", err, dst)
		}
		if names := leftovers(t, dir); len(names) != 1 {
			t.Fatalf("directory holds %q; want only out/", names)
		}
	})
	t.Run("a missing directory names the destination", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "no", "such", "dir", "x")
		err := WriteBytes(dst, 0o644, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "write "+dst+": ") || strings.Contains(err.Error(), ".tmp-") {
			t.Fatalf("error %v", err)
		}
	})
}
