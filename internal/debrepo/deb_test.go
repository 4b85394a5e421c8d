package debrepo_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/debrepo"
	"github.com/guestforge/guestforge/internal/debrepo/debrepotest"
)

func TestDataTarRejectsNonDeb(t *testing.T) {
	if _, _, err := debrepo.DataTar(strings.NewReader("PK\x03\x04 not an ar archive")); err == nil {
		t.Fatal("want an error for a non-ar input")
	}
	deb := debrepotest.Deb(t, "Package: a", []debrepotest.File{{Name: "./a", Body: "b"}})
	cut := deb[:len(deb)/2]
	tr, closeFn, err := debrepo.DataTar(bytes.NewReader(cut))
	if err == nil {
		defer closeFn()
		if _, err = tr.Next(); err == nil {
			_, err = io.Copy(io.Discard, tr)
		}
	}
	if err == nil {
		t.Fatal("want an error for a truncated .deb")
	}
}

func TestControl(t *testing.T) {
	p := debrepotest.Pkg{Name: "libfoo1", Version: "1:2.0-3+deb12u1", Arch: "amd64", Depends: "libc6 (>= 2.34)"}
	deb := debrepotest.Deb(t, p.Control(), []debrepotest.File{{Name: "./usr/lib/libfoo.so.1", Body: "\x7fELF"}})
	got, err := debrepo.Control(bytes.NewReader(deb), "libfoo1.deb")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != p.Control() {
		t.Fatalf("control = %q, want %q", got, p.Control())
	}
	if v := debrepo.ControlField(got, "version"); v != "1:2.0-3+deb12u1" {
		t.Fatalf("ControlField(Version) = %q", v)
	}
	if v := debrepo.ControlField(got, "Conflicts"); v != "" {
		t.Fatalf("ControlField of an absent field = %q", v)
	}
	// The continuation line of Description is not a field.
	if v := debrepo.ControlField(got, "a package made by debrepotest"); v != "" {
		t.Fatalf("a continuation line read as a field: %q", v)
	}
	if _, err := debrepo.Control(bytes.NewReader(deb[:40]), "cut.deb"); err == nil || !strings.HasPrefix(err.Error(), "cut.deb: ") {
		t.Fatalf("want an error naming a truncated .deb, got %v", err)
	}
}
