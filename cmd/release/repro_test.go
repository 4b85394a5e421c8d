package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/initrd"
)

// reproTree writes dist/x86_64/ with an initrd packed by internal/initrd (etc/motd
// holding motd) and a root_hash.txt.
func reproTree(t *testing.T, motd string) string {
	t.Helper()
	tr := initrd.NewTree()
	for _, err := range []error{
		tr.AddFile("etc/hostname", 0o644, []byte("guestforge\n")),
		tr.AddFile("etc/motd", 0o644, []byte(motd)),
		tr.AddFile("init", 0o755, []byte("#!/bin/sh\n")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var img bytes.Buffer
	if _, err := initrd.Pack(&img, tr, initrd.WriteOptions{Epoch: 1700000000}, initrd.Zstd); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "x86_64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"initrd-default.img": img.Bytes(),
		"root_hash.txt":      []byte("abcd  rootfs-default.img\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sha16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func TestReproCompareCLI(t *testing.T) {
	a := reproTree(t, "welcome\n")
	t.Run("identical", func(t *testing.T) {
		res := relRun(t, t.TempDir(), nil, "repro", "compare", "--no-diffoscope", a, reproTree(t, "welcome\n"))
		if res.code != 0 || !strings.HasPrefix(res.stdout, "PASS 2 artifacts identical") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		js := filepath.Join(t.TempDir(), "report.json")
		res := relRun(t, t.TempDir(), nil, "repro", "compare", "--no-diffoscope", "--json", js, a, reproTree(t, "welcome, built 2026-11-23\n"))
		first, _, _ := strings.Cut(res.stdout, "\n")
		want := "FAIL x86_64/initrd-default.img (cpio, zstd): member etc/motd differs: content sha256 " +
			sha16("welcome\n") + "… != " + sha16("welcome, built 2026-11-23\n") + "…"
		if res.code != 1 || first != want {
			t.Fatalf("exit %d, first line %q\n%s%s", res.code, first, res.stdout, res.stderr)
		}
		var rep struct {
			Identical bool   `json:"identical"`
			First     string `json:"first"`
		}
		data, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil || rep.Identical || rep.First != "x86_64/initrd-default.img" {
			t.Errorf("JSON report %s: %+v %v", data, rep, err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"repro", "compare", a},
			{"repro", "compare", a, filepath.Join(t.TempDir(), "missing")},
			{"repro", "compare", t.TempDir(), t.TempDir()},
		} {
			if res := relRun(t, t.TempDir(), nil, args...); res.code != 2 {
				t.Errorf("%v: exit %d, want 2\n%s", args, res.code, res.stderr)
			}
		}
	})
}

func TestPrepareReproOutNeverEmptiesForeignDirectories(t *testing.T) {
	out := t.TempDir()
	a, b := filepath.Join(out, "a"), filepath.Join(out, "b")
	if err := os.MkdirAll(filepath.Join(a, "x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := prepareReproOut(out, a, b); err == nil || !strings.Contains(err.Error(), "not a release repro output directory") {
		t.Fatalf("an unmarked directory with a/ was accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a, "x86_64")); err != nil {
		t.Fatalf("a/ was touched: %v", err)
	}
	// Once marked (as a run leaves it), a later run replaces the trees.
	if err := os.WriteFile(filepath.Join(out, reproMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareReproOut(out, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("a/ of the earlier run is still there: %v", err)
	}
}
