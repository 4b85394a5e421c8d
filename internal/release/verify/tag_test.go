package verify_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/guestforge/guestforge/internal/release/publish"
	"github.com/guestforge/guestforge/internal/release/verify"
)

// A signed release re-pushed under another version's tag carries signed
// manifests that say which release they are; the tag must agree.
func TestRetaggedReleaseFails(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tr, k := signed(t)
	repo, err := name.NewRepository(host+"/guestforge/guest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	res, err := publish.Publish(ctx, tr, repo, publish.Options{Signer: k.Signer})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	newer := repo.Tag("2026.2.0")
	if err := remote.Tag(newer, desc); err != nil {
		t.Fatal(err)
	}
	// Its own tag verifies: the binding refuses only the relabel.
	if _, err := verify.Ref(ctx, repo.Tag("2026.1.0"), t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true}); err != nil {
		t.Fatalf("verify the release under its own tag: %v", err)
	}
	_, err = verify.Ref(ctx, newer, t.TempDir(), verify.Options{Key: k.Verifier, NoBoot: true})
	var f *verify.Failure
	if !errors.As(err, &f) || f.Step != "version" {
		t.Fatalf("verify %s = %v, want a version failure", newer, err)
	}
	want := "version check failed: " + newer.String() + ": the signed manifests are release 2026.1.0, to be tagged 2026.1.0: " +
		"a signed release pushed under another tag; pull the tag 2026.2.0 names from where it was published"
	if err.Error() != want {
		t.Fatalf("message:\n%s\nwant:\n%s", err, want)
	}
}
