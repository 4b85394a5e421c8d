package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runInitrd(t *testing.T, args ...string) (stdout string, code int, err error) {
	t.Helper()
	cmd := newInitrdCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = -1
	}
	return out.String(), code, err
}

// TestInitrdCommand packs a tree with a stand-in agent (21 bytes that are
// neither ELF, so no arch question, nor a script, whose interpreter the tree
// would have to hold), lists it, and checks the exit codes of the two
// failure classes: bad input (2) and an invalid tree (1).
func TestInitrdCommand(t *testing.T) {
	dir := t.TempDir()
	agent := filepath.Join(dir, "agent")
	if err := os.WriteFile(agent, []byte("stand-in agent binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "initrd.img")
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	out, code, err := runInitrd(t, "--root", root, "--init", "agent", "--arch", "amd64", "--agent", agent, "--compress", "zstd", "-o", img)
	if err != nil || code != 0 {
		t.Fatalf("pack: %v (exit %d)", err, code)
	}
	if !strings.Contains(out, "10 entries") || !strings.Contains(out, "zstd (init agent, x86_64, epoch 1767225600)") {
		t.Fatalf("pack printed %q", out)
	}
	again := filepath.Join(dir, "again.img")
	out2, _, err := runInitrd(t, "--root", root, "--init", "agent", "--arch", "x86_64", "--agent", agent, "--compress", "zstd", "--epoch", "1767225600", "-o", again)
	if err != nil || strings.Fields(out)[0] != strings.Fields(out2)[0] {
		t.Fatalf("second pack: %v, digests %q vs %q", err, strings.Fields(out)[0], strings.Fields(out2)[0])
	}

	out, code, err = runInitrd(t, "ls", img)
	if err != nil || code != 0 {
		t.Fatalf("ls: %v", err)
	}
	want := "drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z dev\n" +
		"crw------- 0/0        5,1 2026-01-01T00:00:00Z dev/console\n" +
		"crw-rw-rw- 0/0        1,3 2026-01-01T00:00:00Z dev/null\n" +
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z etc\n" +
		"lrwxrwxrwx 0/0         10 2026-01-01T00:00:00Z init -> /sbin/init\n" +
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z sbin\n" +
		"lrwxrwxrwx 0/0         19 2026-01-01T00:00:00Z sbin/init -> /usr/bin/kata-agent\n" +
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z usr\n" +
		"drwxr-xr-x 0/0          0 2026-01-01T00:00:00Z usr/bin\n" +
		"-rwxr-xr-x 0/0         21 2026-01-01T00:00:00Z usr/bin/kata-agent\n"
	if out != want {
		t.Fatalf("ls:\n%s\nwant:\n%s", out, want)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--root", root, "--init", "agent", "--arch", "x86_64", "-o", img}, 1, "/init is missing"},
		{[]string{"--root", root, "--init", "agent", "--arch", "x86_64", "--agent", agent, "--compress", "xz", "-o", img}, 2, `unknown compression "xz"`},
		{[]string{"--root", root, "--init", "upstart", "--arch", "x86_64", "-o", img}, 2, `unknown init mode "upstart"`},
		{[]string{"--root", root, "--tar", "x.tar", "--init", "agent", "--arch", "x86_64", "-o", img}, 2, "give exactly one tree"},
		{[]string{"--root", root, "--init", "agent", "--arch", "x86_64", "--agent", agent, "--max-size", "10B", "-o", img}, 1, "over the limit of 10"},
		{[]string{"ls", agent}, 1, "not gzip, zstd or a newc cpio archive"},
	} {
		_, code, err := runInitrd(t, c.args...)
		if code != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: exit %d, %v; want exit %d with %q", c.args, code, err, c.code, c.msg)
		}
	}
}
