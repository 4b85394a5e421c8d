package verify_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/verify"
)

const rvFile = "x86_64/reference-values-confidential.json"

// confidential is a signed release whose x86_64 arch is a confidential
// target: the fixture firmware and its reference values, attested and
// signed like every other file.
func confidential(t *testing.T) (*dist.Tree, *releasetest.Keys) {
	t.Helper()
	root := disttest.Build(t, t.TempDir())
	releasetest.Confidential(t, root)
	k := releasetest.KeyPair(t, "main")
	return releasetest.AttestAndSign(t, root, k), k
}

// resign attests and signs the tree again, as a release process that
// changed a file after the reference values were written would: every
// checksum and signature holds, and only the values are stale.
func resign(t *testing.T, tr *dist.Tree, k *releasetest.Keys) *dist.Tree {
	t.Helper()
	for _, b := range tr.Bundles() {
		if err := os.Remove(tr.Path(b)); err != nil {
			t.Fatal(err)
		}
	}
	tr = releasetest.Attest(t, tr.Root)
	if _, err := sign.Tree(context.Background(), tr, k.Signer, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReferenceValuesVerified(t *testing.T) {
	tr, k := confidential(t)
	if !tr.Has(rvFile+dist.BundleSuffix) || !tr.Has("x86_64/ovmf-amdsev.fd"+dist.BundleSuffix) {
		t.Fatal("the reference values or the firmware were not signed")
	}
	rep, err := verify.Tree(context.Background(), tr, verify.Options{Key: k.Verifier, NoBoot: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "reference values " + rvFile + ": every value recomputed from the release's files"
	if !strings.Contains(strings.Join(rep.Items, "\n"), want) {
		t.Errorf("the report does not say %q:\n%s", want, strings.Join(rep.Items, "\n"))
	}
}

// A kernel, an initrd or one command line byte changed after the values
// were written, with the release summed and signed again: verify fails on
// the reference values, naming the file, the target and the first value.
func TestReferenceValuesStale(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, tr *dist.Tree)
		field  string
	}{
		{"kernel", func(t *testing.T, tr *dist.Tree) {
			releasetest.FlipByte(t, tr.Path(disttest.BootImage(arch.MustParse("x86_64"))))
		}, "kernel.sha256"},
		{"initrd", func(t *testing.T, tr *dist.Tree) { releasetest.FlipByte(t, tr.Path("x86_64/initrd-default.img")) },
			"launches[image=default].initrd.sha256"},
		{"one command line byte", func(t *testing.T, tr *dist.Tree) {
			b, err := os.ReadFile(tr.Path(rvFile))
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(b), "console=hvc0 ", "console=hvc1 ", 1)
			if edited == string(b) {
				t.Fatal("test bug: the command line has no console=hvc0")
			}
			if err := os.WriteFile(tr.Path(rvFile), []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "launches[image=default].cmdline"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, k := confidential(t)
			c.tamper(t, tr)
			tr = resign(t, tr, k)
			_, err := verify.Tree(context.Background(), tr, verify.Options{Key: k.Verifier, NoBoot: true})
			var f *verify.Failure
			if !errors.As(err, &f) || f.Step != "reference values" || f.Item != rvFile {
				t.Fatalf("got %v, want a reference values failure of %s", err, rvFile)
			}
			want := "reference values check failed: " + rvFile + ": target x86_64/confidential: " + c.field + " is "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got  %s\nwant %s...", err, want)
			}
		})
	}
}
