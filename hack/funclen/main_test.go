package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunFailsOverTheLimit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc long() {\n\t_ = 1\n\t_ = 2\n}\n\nfunc short() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(&out, &errOut, 3, true, []string{dir}); code != 1 {
		t.Errorf("exit %d with a 4-line function over -max 3 and -fail, want 1", code)
	}
	want := filepath.Join(dir, "a.go") + ":3: long 4 lines\n1 of 2 functions over 3 lines\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if code := run(&out, &errOut, 4, true, []string{dir}); code != 0 || !strings.HasPrefix(out.String(), "0 of 2") {
		t.Errorf("exit %d, output %q at -max 4", code, out.String())
	}
	if code := run(&out, &errOut, 4, false, []string{filepath.Join(dir, "missing")}); code != 2 {
		t.Errorf("exit %d for a missing directory, want 2", code)
	}
}
