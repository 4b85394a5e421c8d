package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runInitdata(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newInitdataCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		out.WriteString(err.Error())
	}
	return out.String(), kconfigExitCode(err)
}

// Kata's test vector (internal/initdata holds where it comes from).
func TestInitdataDigest(t *testing.T) {
	doc := "../../internal/initdata/testdata/kata_utils_test.toml"
	const sum = "c6694bb7a29d6f37ec72a15582e004b9f3142159682db8509a304407419a49e5"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "snp"}, sum},
		{[]string{"--platform", "tdx"}, sum + strings.Repeat("0", 32)},
		{[]string{"--platform", "snp", "--base64"}, "xmlLt6KdbzfscqFVguAEufMUIVloLbhQmjBEB0GaSeU="},
	} {
		out, code := runInitdata(t, append([]string{"digest", doc}, tc.args...)...)
		if code != 0 || out != tc.want+"\n" {
			t.Errorf("%v: exit %d, %q; want %s", tc.args, code, out, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\nx = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runInitdata(t, "digest", bad, "--platform", "snp")
	if code != exitBadInput || !strings.Contains(out, bad+":4: the value of x (1) is not a string") {
		t.Errorf("bad document: exit %d, %q", code, out)
	}
	out, code = runInitdata(t, "digest", doc, "--platform", "sev")
	if code != exitBadInput || !strings.Contains(out, "pass one of cca, se, snp, tdx") {
		t.Errorf("bad platform: exit %d, %q", code, out)
	}
}
