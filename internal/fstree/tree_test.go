package fstree

import (
	"io"
	"strings"
	"testing"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mergedUsr is a merged-/usr Debian in miniature: lib -> usr/lib, and a file in it.
func mergedUsr(t *testing.T) *Tree {
	t.Helper()
	tree := New()
	must(t, tree.AddDir("usr/lib/systemd", 0o755))
	must(t, tree.AddFile("usr/lib/systemd/systemd", 0o755, []byte("\x7fELF")))
	must(t, tree.AddSymlink("lib", "usr/lib"))
	return tree
}

// ResolveDir is where internal/rootfs puts an overlay's files: through the tree's
// links, with missing directories kept for creation, and "" for the root.
func TestResolveDir(t *testing.T) {
	tree := mergedUsr(t)
	must(t, tree.AddSymlink("toroot", "/"))
	must(t, tree.AddSymlink("dangling", "/opt/missing"))
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""},
		{".", "", ""},
		{"lib/systemd", "usr/lib/systemd", ""},
		{"lib/systemd/new/deeper", "usr/lib/systemd/new/deeper", ""},
		{"dangling/x", "opt/missing/x", ""},
		{"toroot", "", ""},
		{"usr/lib/systemd/systemd", "", "is a file, not a directory"},
		{"usr/lib/systemd/systemd/x", "", "not a directory"},
	} {
		got, err := tree.ResolveDir(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ResolveDir(%q) = %q, %v; want an error mentioning %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ResolveDir(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// Add keeps a record as given (owner, mode bits, xattrs, content source), cleans its
// path, creates its parents, and refuses records no archive can hold.
func TestAddKeepsTheRecord(t *testing.T) {
	tree := New()
	caps := map[string]string{"SCHILY.xattr.security.capability": "\x01"}
	must(t, tree.Add(&Entry{Path: "/usr/bin/ping", Kind: KindRegular, Perm: 0o104755, UID: 0, GID: 42, Size: 4,
		Xattrs: caps, Data: SectionContent{R: strings.NewReader("..ping.."), Off: 2, N: 4, Name: "member #9"}}))
	must(t, tree.Add(&Entry{Path: "usr/bin/awk", Kind: KindSymlink, Perm: 0o755, UID: 7, Linkname: "/etc/alternatives/awk"}))
	e, ok := tree.Lookup("usr/bin/ping")
	if !ok || e.Perm != 0o4755 || e.GID != 42 || e.Xattrs["SCHILY.xattr.security.capability"] != "\x01" {
		t.Fatalf("ping = %+v, want mode 04755 (type bits masked), gid 42 and its capability", e)
	}
	rc, err := e.Open()
	must(t, err)
	body, err := io.ReadAll(rc)
	must(t, err)
	if string(body) != "ping" {
		t.Errorf("ping's content = %q, want the section %q", body, "ping")
	}
	if awk, _ := tree.Lookup("usr/bin/awk"); awk.Perm != 0o755 || awk.UID != 7 {
		t.Errorf("awk = %+v, want the symlink's own mode 0755 and uid 7 kept", awk)
	}
	if dir, ok := tree.Lookup("usr/bin"); !ok || dir.Kind != KindDir || dir.Perm != ParentPerm {
		t.Errorf("usr/bin = %+v, want a created parent directory", dir)
	}
	for _, c := range []struct {
		e    Entry
		want string
	}{
		{Entry{Path: "../x", Kind: KindRegular}, "leaves the initrd root"},
		{Entry{Path: "/", Kind: KindDir}, "names the root"},
		{Entry{Path: "x", Kind: KindSymlink}, "empty target"},
		{Entry{Path: "x", Kind: KindDir, Size: 3}, "has no content"},
		{Entry{Path: "x", Kind: Kind(99)}, "unknown entry kind"},
		{Entry{Path: "usr/bin/awk/x", Kind: KindRegular}, "its parent usr/bin/awk is a symlink"},
	} {
		if err := tree.Add(&c.e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Add(%+v) = %v, want an error mentioning %q", c.e, err, c.want)
		}
	}
}
