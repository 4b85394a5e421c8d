package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runKconfig(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newKconfigCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func kconfigExitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestKconfigMergeAndList(t *testing.T) {
	out, errOut, err := runKconfig(t, "merge", "--configs", "../../kernel-configs", "--arch", "x86_64", "--kernel-variant", "gpu")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "# guestforge merged kernel config request\n# arch=x86_64\n") || !strings.Contains(out, "\nCONFIG_MODULES=y\n") {
		t.Errorf("merged fragment:\n%s", out)
	}
	if !strings.Contains(errOut, "override: CONFIG_MODULES: y (../../kernel-configs/variants/gpu/gpu.conf:") {
		t.Errorf("stderr does not report the gpu modules override:\n%s", errOut)
	}
	path := filepath.Join(t.TempDir(), "frag.config")
	if _, _, err := runKconfig(t, "merge", "--configs", "../../kernel-configs", "--arch", "x86_64", "--kernel-variant", "gpu", "-o", path); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != out {
		t.Error("-o wrote different bytes than stdout")
	}
	list, _, err := runKconfig(t, "list", "--configs", "../../kernel-configs")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(list, "\n"); lines != 18 || strings.Contains(list, "s390x    gpu") {
		t.Errorf("list has %d lines, want 18 targets without s390x/gpu:\n%s", lines, list)
	}
	if _, _, err := runKconfig(t, "merge", "--configs", "../../kernel-configs", "--arch", "x86_64", "--kernel-variant", "nope"); kconfigExitCode(err) != exitBadInput {
		t.Errorf("unknown variant: exit %d (%v), want %d", kconfigExitCode(err), err, exitBadInput)
	}
}

func TestKconfigVerify(t *testing.T) {
	tree := "../../internal/kconfig/testdata/dropped/kernel-configs"
	fixture := "../../internal/kconfig/testdata/dropped/x86_64.config"
	_, _, err := runKconfig(t, "verify", "--configs", tree, "--arch", "x86_64", "--series", "6.12", "--config", fixture)
	if kconfigExitCode(err) != exitViolation || !strings.Contains(err.Error(), "CONFIG_VIRTIO_BLK: wanted y, got absent") ||
		!strings.Contains(err.Error(), "common/storage.conf:6") {
		t.Errorf("verify of a dropped symbol: exit %d, %v", kconfigExitCode(err), err)
	}
	// The same .config satisfies a request it does meet.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "common"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "common", "a.conf"), []byte("CONFIG_VIRTIO_MMIO=y\n# CONFIG_BLOCK is not set\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runKconfig(t, "verify", "--configs", dir, "--arch", "x86_64", "--series", "6.12", "--config", fixture)
	if err != nil || !strings.Contains(out, "all 2 requested symbols survived") {
		t.Errorf("verify = %q, %v", out, err)
	}
	if _, _, err := runKconfig(t, "verify", "--configs", dir, "--arch", "x86_64", "--series", "6.12", "--config", filepath.Join(dir, "missing")); kconfigExitCode(err) != exitBadInput {
		t.Errorf("missing .config: exit %d, want %d", kconfigExitCode(err), exitBadInput)
	}
}

// --kata-fragments merges Kata's own fragment directory layout.
func TestKconfigMergeKataFragments(t *testing.T) {
	kata := "../../internal/kconfig/testdata/kata-x86_64"
	out, errOut, err := runKconfig(t, "merge", "--kata-fragments", kata, "--arch", "x86_64", "--kernel-variant", "confidential")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"CONFIG_INTEL_TDX_GUEST=y", "CONFIG_TMPFS_XATTR=y", "# CONFIG_MODULES is not set", "CONFIG_NR_CPUS=240"} {
		if !strings.Contains(out, "\n"+line+"\n") {
			t.Errorf("merged fragment lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "HW_RANDOM_VIRTIO") {
		t.Errorf("confidential merge kept the !confidential fragment:\n%s", out)
	}
	if !strings.Contains(errOut, "(x86_64/confidential, 28 symbols from 9 fragments)") {
		t.Errorf("stderr: %s", errOut)
	}
	list, _, err := runKconfig(t, "list", "--kata-fragments", kata)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(list, "\n"); lines != 5 || !strings.Contains(list, "x86_64   confidential") {
		t.Errorf("list has %d lines, want 4 arches x default + x86_64 confidential:\n%s", lines, list)
	}
	if _, _, err := runKconfig(t, "merge", "--configs", "../../kernel-configs", "--kata-fragments", kata); err == nil ||
		!strings.Contains(err.Error(), "none of the others can be") {
		t.Errorf("--configs with --kata-fragments: %v, want a mutually-exclusive flags error", err)
	}
}
