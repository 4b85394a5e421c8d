package main

import (
	"bytes"
	"errors"
	"testing"
)

// What the front doors that read SOURCE_DATE_EPOCH say about a bad value.
// They share sourcedate's parser; the wording is each one's own.
func TestSourceDateEpochErrors(t *testing.T) {
	t.Run("initrd", func(t *testing.T) {
		for env, want := range map[string]string{
			"yesterday":            `SOURCE_DATE_EPOCH="yesterday" is not a number of seconds: strconv.ParseInt: parsing "yesterday": invalid syntax`,
			"99999999999999999999": `SOURCE_DATE_EPOCH="99999999999999999999" is not a number of seconds: strconv.ParseInt: parsing "99999999999999999999": value out of range`,
		} {
			t.Setenv("SOURCE_DATE_EPOCH", env)
			if _, err := epochFromEnv(); err == nil || err.Error() != want {
				t.Errorf("%s: %v\nwant %s", env, err, want)
			}
		}
		for env, want := range map[string]int64{"": 0, "1767225600": 1767225600} {
			t.Setenv("SOURCE_DATE_EPOCH", env)
			if n, err := epochFromEnv(); err != nil || n != want {
				t.Errorf("%q: %d, %v; want %d", env, n, err, want)
			}
		}
	})
	t.Run("export", func(t *testing.T) {
		// The epoch is checked before the dist tree is read, so none is needed.
		for _, env := range []string{"yesterday", "0", "-5", "1.5"} {
			t.Setenv("SOURCE_DATE_EPOCH", env)
			cmd := newExportCmd()
			cmd.SetOut(new(bytes.Buffer))
			cmd.SetErr(new(bytes.Buffer))
			cmd.SetArgs([]string{"--layout", "kata-static", "--arch", "x86_64", "-o", "unused.tar"})
			err := cmd.Execute()
			var ee *exitError
			want := `SOURCE_DATE_EPOCH="` + env + `" is not a positive number of seconds`
			if !errors.As(err, &ee) || ee.code != exitBadInput || err.Error() != want {
				t.Errorf("%s: %v\nwant exit %d, %s", env, err, exitBadInput, want)
			}
		}
	})
}
