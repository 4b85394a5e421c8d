package debrepo_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/debrepo/debrepotest"
)

func TestVerifyReleaseRejectsForgery(t *testing.T) {
	a := debrepotest.NewArchive(t, "bookworm")
	a.Publish(time.Date(2026, 11, 8, 9, 12, 45, 0, time.UTC), []string{"amd64"}, debrepotest.Pkg{Name: "base-files", Version: "12.4", Arch: "amd64"})
	signed := a.File("/dists/bookworm/InRelease")
	text, err := debrepo.VerifyRelease(signed, a.Keyring)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := debrepo.ReleaseSHA256(text, "main/binary-amd64/Packages.gz"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := debrepo.ReleaseSHA256(text, "main/binary-s390x/Packages.gz"); err == nil {
		t.Fatal("want an error for a path the Release file does not list")
	}
	forged := bytes.Replace(signed, []byte("Codename: bookworm"), []byte("Codename: trixie!!"), 1)
	if _, err := debrepo.VerifyRelease(forged, a.Keyring); err == nil {
		t.Fatal("a modified InRelease verified")
	}
	other := debrepotest.NewArchive(t, "bookworm")
	if _, err := debrepo.VerifyRelease(signed, other.Keyring); err == nil {
		t.Fatal("InRelease verified against a keyring without its signer")
	}
	if _, err := debrepo.VerifyRelease([]byte("not signed"), a.Keyring); err == nil {
		t.Fatal("an unsigned InRelease verified")
	}
}
