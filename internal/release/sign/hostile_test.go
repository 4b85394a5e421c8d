package sign_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
	"github.com/guestforge/guestforge/internal/release/sums"
)

// A file SHA256SUMS does not list would ship unsigned and fail verify:
// signing refuses it by name, and refuses a tree with no SHA256SUMS.
func TestTreeRefusesUnlistedFiles(t *testing.T) {
	ctx := context.Background()
	kp := releasetest.KeyPair(t, "main")
	tr := releasetest.Attest(t, disttest.Build(t, t.TempDir()))
	for _, extra := range []string{"x86_64/extra.bin", "notes.txt"} {
		if err := os.WriteFile(tr.Path(extra), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := dist.Open(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sign.Tree(ctx, tr, kp.Signer, nil)
	want := "refusing to sign: notes.txt, x86_64/extra.bin are not listed in SHA256SUMS: re-run `release attest` to sum every file, or remove what does not belong in the release"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if len(tr.Bundles()) != 0 {
		t.Fatalf("bundles written before the refusal: %v", tr.Bundles())
	}
	os.Remove(tr.Path(dist.SumsFile))
	tr, _ = dist.Open(tr.Root)
	_, err = sign.Tree(ctx, tr, kp.Signer, nil)
	if want := tr.Path(dist.SumsFile) + ": missing: run `release attest` first, which writes it"; err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// An edited SHA256SUMS is reported as edited, with both digests, not as a
// signature that does not verify with the key.
func TestVerifyFileNamesAnEditedFile(t *testing.T) {
	ctx := context.Background()
	kp := releasetest.KeyPair(t, "main")
	tr := signedTree(t, kp)
	signedSum, err := sums.File(tr.Path(dist.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(tr.Path(dist.SumsFile))
	os.WriteFile(tr.Path(dist.SumsFile), append(b, '\n'), 0o644)
	nowSum, _ := sums.File(tr.Path(dist.SumsFile))
	err = sign.VerifyFile(ctx, kp.Verifier, tr, dist.SumsFile)
	want := "SHA256SUMS was changed after it was signed: its sha256 is " + nowSum + ", the signature in SHA256SUMS.sigstore.json covers " + signedSum +
		"; restore the file as released (or, for a deliberate change, re-run `release attest` and `release sign`)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "with this key") {
		t.Fatal("still blames the key")
	}
}
