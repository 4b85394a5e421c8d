package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The flag names commands used before the one vocabulary (docs/architecture.md, Flag
// vocabulary) still set what the new name sets, and say the new name.
func TestDeprecatedFlagNamesSetTheNewFlag(t *testing.T) {
	cases := []struct {
		cmd      func() *cobra.Command
		old, new string
		value    string // what the new flag holds after --old v
	}{
		{newBuildCmd, "variant", "kernel-variant", "v"},
		{newReproCmd, "variant", "kernel-variant", "v"},
		{newReproCmd, "arches", "arch", "[v]"},
		{newReproCmd, "images", "image", "[v]"},
		{newKconfigMergeCmd, "variant", "kernel-variant", "v"},
		{newExportCmd, "toolchain", "manifest", "v"},
		{newAttestCmd, "repo", "source", "v"},
	}
	for _, c := range cases {
		cmd := c.cmd()
		t.Run(cmd.Name()+" --"+c.old, func(t *testing.T) {
			var warn bytes.Buffer
			cmd.SetErr(&warn)
			cmd.Flags().SetOutput(&warn)
			if err := cmd.ParseFlags([]string{"--" + c.old, "v"}); err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup(c.new).Value.String(); got != c.value {
				t.Errorf("--%s v: --%s holds %q, want %q", c.old, c.new, got, c.value)
			}
			if want := "Flag --" + c.old + " has been deprecated, use --" + c.new; !strings.Contains(warn.String(), want) {
				t.Errorf("warning %q, want %q", warn.String(), want)
			}
		})
	}
}
