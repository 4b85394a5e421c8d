package initrd

import (
	"bytes"
	"strings"
	"testing"
)

// Names of one inode share one Hardlink value, other files have none, and newc
// writes the group's bytes once, whatever Xattrs the records carry.
func TestHardlinkGroups(t *testing.T) {
	tree := NewTree()
	must(t, tree.AddFile("usr/bin/perl", 0o755, []byte("perl")))
	must(t, tree.AddFile("usr/bin/sh", 0o755, []byte("sh")))
	must(t, tree.AddHardlink("usr/bin/perl5.36", "usr/bin/perl"))
	perl, _ := tree.Lookup("usr/bin/perl")
	perl.Xattrs = map[string]string{"SCHILY.xattr.user.x": "y"}
	alias, _ := tree.Lookup("usr/bin/perl5.36")
	sh, _ := tree.Lookup("usr/bin/sh")
	if perl.Hardlink() == 0 || perl.Hardlink() != alias.Hardlink() || sh.Hardlink() != 0 {
		t.Fatalf("Hardlink() = perl %d, perl5.36 %d, sh %d; want one shared non-zero id and 0", perl.Hardlink(), alias.Hardlink(), sh.Hardlink())
	}
	var out bytes.Buffer
	if _, err := WriteNewc(&out, tree, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "perl"); n != 3 { // two names and one body
		t.Errorf("the archive holds %q %d times, want 3 (two names, one body)", "perl", n)
	}
	if strings.Contains(out.String(), "SCHILY") {
		t.Error("newc carries extended attributes it has no field for")
	}
}
