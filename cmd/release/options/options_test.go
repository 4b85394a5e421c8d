package options

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestDeprecatedAliasesSetTheSameValueAndWarn(t *testing.T) {
	tests := []struct {
		args        []string
		wantArches  []string
		wantVariant string
		changed     bool
		warn        string
	}{
		{args: nil, wantVariant: "test"},
		{args: []string{"--arch", "x86_64,aarch64", "--kernel-variant", "debug"}, wantArches: []string{"x86_64", "aarch64"}, wantVariant: "debug", changed: true},
		{args: []string{"--arches", "s390x", "--variant", "default"}, wantArches: []string{"s390x"}, wantVariant: "default", changed: true,
			warn: "Flag --arches has been deprecated, use --arch\nFlag --variant has been deprecated, use --kernel-variant\n"},
		{args: []string{"--arch", "x86_64", "--arches", "aarch64"}, wantArches: []string{"x86_64", "aarch64"}, wantVariant: "test",
			warn: "Flag --arches has been deprecated, use --arch\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := pflag.NewFlagSet("t", pflag.ContinueOnError)
			var warn bytes.Buffer
			f.SetOutput(&warn)
			var a ArchesOptions
			k := KernelVariantOptions{Variant: "test"}
			a.AddFlags(f)
			k.AddFlags(f)
			if err := f.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Arches, tt.wantArches) || k.Variant != tt.wantVariant {
				t.Errorf("arches %q, variant %q; want %q, %q", a.Arches, k.Variant, tt.wantArches, tt.wantVariant)
			}
			if got := k.Changed(f); got != tt.changed {
				t.Errorf("variant changed = %v, want %v", got, tt.changed)
			}
			if warn.String() != tt.warn {
				t.Errorf("warnings %q, want %q", warn.String(), tt.warn)
			}
		})
	}
}

func TestDeprecatedAliasesAreHidden(t *testing.T) {
	f := pflag.NewFlagSet("t", pflag.ContinueOnError)
	(&ArchesOptions{}).AddFlags(f)
	(&KernelVariantOptions{}).AddFlags(f)
	usage := f.FlagUsages()
	for _, old := range []string{"--arches", "--variant "} {
		if strings.Contains(usage, old) {
			t.Errorf("help lists the deprecated %s:\n%s", old, usage)
		}
	}
	for _, name := range []string{"--arch ", "--kernel-variant"} {
		if !strings.Contains(usage, name) {
			t.Errorf("help does not list %s:\n%s", name, usage)
		}
	}
}
