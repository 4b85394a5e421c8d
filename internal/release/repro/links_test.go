package repro

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// secret is a file outside both trees that links point at; its content must
// never reach the report.
func secret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// reportText renders the report both ways, so one assertion covers both.
func reportText(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCompareNeverFollowsLinks is the acceptance case: link -> /etc/shadow
// in one tree, link -> /etc/passwd in the other. (Stand-ins outside the trees, so
// the test does not depend on the host's /etc.)
func TestCompareNeverFollowsLinks(t *testing.T) {
	shadow := secret(t, "shadow", "root:$6$secret-hash:19000:0:99999:7:::\n")
	passwd := secret(t, "passwd", "root:x:0:0:root:/root:/bin/bash\n")
	a := writeTree(t, map[string][]byte{"x86_64/root_hash.txt": []byte("abcd\n")})
	b := writeTree(t, map[string][]byte{"x86_64/root_hash.txt": []byte("abcd\n")})
	symlink(t, shadow, filepath.Join(a, "link"))
	symlink(t, passwd, filepath.Join(b, "link"))
	// Same target in both: identical, and still not read.
	symlink(t, shadow, filepath.Join(a, "same"))
	symlink(t, shadow, filepath.Join(b, "same"))
	// A linked directory is a link, not a tree to descend into.
	outside := writeTree(t, map[string][]byte{"leak.txt": []byte("root:outside-dir\n")})
	symlink(t, outside, filepath.Join(a, "x86_64", "etc"))
	symlink(t, outside, filepath.Join(b, "x86_64", "etc"))
	// Loops are links too.
	symlink(t, ".", filepath.Join(a, "loop"))
	symlink(t, ".", filepath.Join(b, "loop"))
	symlink(t, "self", filepath.Join(a, "self"))
	symlink(t, "self", filepath.Join(b, "self"))
	// A FIFO would hang a reader: it is compared by type and never opened.
	for _, d := range []string{a, b} {
		if err := syscall.Mkfifo(filepath.Join(d, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	r, err := Compare(context.Background(), a, b, Options{LookPath: func(string) (string, error) { return "/bin/false", nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := "FAIL link (symlink): symlink target " + `"` + shadow + `" != "` + passwd + `"`
	if got := r.Summary(); got != want {
		t.Fatalf("summary %q\nwant    %q", got, want)
	}
	var paths []string
	for _, art := range r.Artifacts {
		paths = append(paths, art.Path)
		if art.Path != "link" && !art.Identical {
			t.Errorf("%s differs: %+v", art.Path, art)
		}
	}
	if got := strings.Join(paths, " "); got != "fifo link loop same self x86_64/etc x86_64/root_hash.txt" {
		t.Fatalf("artifacts %s: a linked directory must not be descended", got)
	}
	if r.Diffoscope != "" || !strings.HasPrefix(r.DiffoscopeNote, "not run on link: not a pair of regular files") {
		t.Fatalf("diffoscope %q, note %q: it must never get a link", r.Diffoscope, r.DiffoscopeNote)
	}
	out := reportText(t, r)
	for _, leak := range []string{"root:", "secret-hash", "outside-dir", "/bin/bash"} {
		if strings.Contains(out, leak) {
			t.Errorf("the report holds %q, content of a file outside the trees:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, `"link_a": "`+shadow+`"`) || !strings.Contains(out, `"link_b": "`+passwd+`"`) {
		t.Errorf("JSON does not carry both targets:\n%s", out)
	}
}

// TestCompareLinkAgainstFile: a link on one side and a file on the other differ by
// type; the link's target is named, not read.
func TestCompareLinkAgainstFile(t *testing.T) {
	shadow := secret(t, "shadow", "root:$6$secret-hash\n")
	a := writeTree(t, map[string][]byte{"cfg": []byte("root:$6$secret-hash\n")})
	b := t.TempDir()
	symlink(t, shadow, filepath.Join(b, "cfg"))
	r, err := Compare(context.Background(), a, b, Options{NoDiffoscope: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `FAIL cfg (text): a is a regular file, b is a symlink to "` + shadow + `"`
	if got := r.Summary(); got != want {
		t.Fatalf("summary %q\nwant    %q", got, want)
	}
	if art := r.Artifact("cfg"); art.SHA256B != "" || art.SizeB != 0 {
		t.Fatalf("b's link was read: %+v", art)
	}
}

// TestCompareRootSymlinkResolvedOnce: a tree given as a link is compared where it
// points, and the report says so.
func TestCompareRootSymlinkResolvedOnce(t *testing.T) {
	a := writeTree(t, map[string][]byte{"f": []byte("x")})
	real := writeTree(t, map[string][]byte{"f": []byte("x")})
	link := filepath.Join(t.TempDir(), "dist")
	symlink(t, real, link)
	r, err := Compare(context.Background(), a, link, Options{NoDiffoscope: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Identical || r.DirB != real || len(r.Notes) != 1 || r.Notes[0] != "b: "+link+" is a symlink; compared the tree it points to, "+real {
		t.Fatalf("identical %v, b %s, notes %q", r.Identical, r.DirB, r.Notes)
	}
	if out := reportText(t, r); !strings.Contains(out, "note: b: "+link+" is a symlink") {
		t.Fatalf("text report does not say the root was resolved:\n%s", out)
	}
}

// TestCompareTextEscapesHostileNames: the text report goes to a terminal and a CI
// log; a file name in a tree that holds escape sequences or a newline must not
// reach either raw. (JSON escapes them itself.)
func TestCompareTextEscapesHostileNames(t *testing.T) {
	name := "evil\x1b[2J\nFAIL forged"
	a := writeTree(t, map[string][]byte{name: []byte("a\n")})
	b := writeTree(t, map[string][]byte{name: []byte("b\n")})
	symlink(t, "\x1b]0;pwned\a", filepath.Join(a, "link"))
	symlink(t, "x", filepath.Join(b, "link"))
	r, err := Compare(context.Background(), a, b, Options{NoDiffoscope: true})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `FAIL evil\x1b[2J\x0aFAIL forged (text): first difference at byte 0 (0x0), line 1: "a" != "b"`
	if got := r.Summary(); got != want {
		t.Fatalf("summary %q\nwant    %q", got, want)
	}
	if strings.ContainsAny(text.String(), "\x1b\a") || strings.Count("\n"+text.String(), "\nFAIL") != 1 {
		t.Fatalf("raw control bytes or a forged line in the text report:\n%q", text.String())
	}
	if !strings.Contains(text.String(), `symlink target "\x1b]0;pwned\a" != "x"`) {
		t.Fatalf("link difference not shown quoted:\n%s", text.String())
	}
}

// TestOpenArtifactRefusesWhatIsNoLongerAFile: between the walk and the read, a
// file swapped for a link out of the tree is not followed, and one swapped for a
// FIFO does not block the comparison.
func TestOpenArtifactRefusesWhatIsNoLongerAFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "swapped-for-a-link")
	symlink(t, secret(t, "shadow", "root:secret\n"), link)
	fifo := filepath.Join(dir, "swapped-for-a-fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := openArtifact(regular); err != nil {
		t.Fatalf("regular file refused: %v", err)
	} else {
		f.Close()
	}
	for p, want := range map[string]string{
		link: "open " + link + ": too many levels of symbolic links (was it changed during the comparison? compare trees nobody is writing to)",
		fifo: "open " + fifo + ": it is a FIFO now, not the regular file the walk saw: compare trees nobody is writing to",
	} {
		f, err := openArtifact(p)
		if err == nil {
			f.Close()
			t.Fatalf("%s opened", p)
		}
		if err.Error() != want {
			t.Errorf("error %q\nwant  %q", err, want)
		}
	}
}
