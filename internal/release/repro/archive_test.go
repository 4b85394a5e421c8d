package repro

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

const testEpoch = 1700000000

// initrdTree is a small guest tree: enough kinds of entries (directories, a
// symlink, a device node, an executable) that a comparison has to tell them apart.
func initrdTree(t *testing.T, motd string) *initrd.Tree {
	t.Helper()
	tr := initrd.NewTree()
	for _, step := range []error{
		tr.AddDir("etc", 0o755),
		tr.AddFile("etc/hostname", 0o644, []byte("guestforge\n")),
		tr.AddFile("etc/motd", 0o644, []byte(motd)),
		tr.AddFile("init", 0o755, []byte("#!/bin/sh\nexec /bin/sh\n")),
		tr.AddSymlink("bin", "usr/bin"),
		tr.AddDir("usr/bin", 0o755),
		tr.AddDevice("dev/console", initrd.KindCharDev, 5, 1, 0o600),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return tr
}

// packInitrd writes the tree with internal/initrd's packer, the one the pipeline uses.
func packInitrd(t *testing.T, tr *initrd.Tree, c initrd.Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := initrd.Pack(&buf, tr, initrd.WriteOptions{Epoch: testEpoch}, c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// injectMTime rewrites one record's c_mtime in an uncompressed newc archive: what a
// packer that let a host timestamp through would have written for that file.
func injectMTime(t *testing.T, newc []byte, name string, mtime int64) []byte {
	t.Helper()
	const headerLen = 110
	i := bytes.Index(newc, []byte(name+"\x00"))
	if i < headerLen || string(newc[i-headerLen:i-headerLen+6]) != "070701" {
		t.Fatalf("no newc record named %s", name)
	}
	out := bytes.Clone(newc)
	copy(out[i-headerLen+6+5*8:], fmt.Sprintf("%08X", mtime))
	return out
}

func compress(t *testing.T, newc []byte, c initrd.Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := initrd.Compress(&buf, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(newc); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// trees writes the same relative file into two fresh trees a and b.
func trees(t *testing.T, rel string, a, b []byte) [2]string {
	t.Helper()
	root := t.TempDir()
	da, db := filepath.Join(root, "a"), filepath.Join(root, "b")
	for dir, data := range map[string][]byte{da: a, db: b} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if data != nil {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return [2]string{da, db}
}

func compare(t *testing.T, dirs [2]string) *Report {
	t.Helper()
	r, err := Compare(context.Background(), dirs[0], dirs[1], Options{NoDiffoscope: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantMember checks that the report fails on rel, leads with member, and that the
// member's differing fields are exactly want (field -> "a|b").
func wantMember(t *testing.T, r *Report, rel, member string, want map[string]string) {
	t.Helper()
	if r.Identical {
		t.Fatalf("the trees compared identical")
	}
	if r.First != rel {
		t.Fatalf("first mismatch is %q, want %q", r.First, rel)
	}
	art := r.Artifact(rel)
	if len(art.Members) == 0 {
		t.Fatalf("%s: no differing member found (note: %s)", rel, art.Note)
	}
	m := art.Members[0]
	if m.Member != member || m.Change != ChangeDiffers {
		t.Fatalf("%s: first differing member is %q (%s), want %q; all: %+v", rel, m.Member, m.Change, member, art.Members)
	}
	got := map[string]string{}
	for _, f := range m.Fields {
		got[f.Field] = f.A + "|" + f.B
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s %s: differing fields\n got %v\nwant %v", rel, member, got, want)
	}
	line := r.Summary()
	if !strings.HasPrefix(line, "FAIL "+rel) || !strings.Contains(line, member) {
		t.Errorf("summary %q does not name %s and %s", line, rel, member)
	}
}

func sha(s string) string { d, _, _ := sha256sum.Reader(strings.NewReader(s)); return d }

func TestCompareInitrd(t *testing.T) {
	const rel = "x86_64/initrd-default.img"
	for _, c := range initrd.Compressions() {
		t.Run(string(c), func(t *testing.T) {
			base := packInitrd(t, initrdTree(t, "welcome\n"), c)
			again := packInitrd(t, initrdTree(t, "welcome\n"), c)
			if r := compare(t, trees(t, rel, base, again)); !r.Identical || r.Artifacts[0].Kind != KindCpio || r.Artifacts[0].Compression != string(c) {
				t.Fatalf("two packs of one tree: %s (%+v)", r.Summary(), r.Artifacts[0])
			}

			t.Run("injected timestamp", func(t *testing.T) {
				newc := packInitrd(t, initrdTree(t, "welcome\n"), initrd.None)
				stamped := compress(t, injectMTime(t, newc, "etc/motd", testEpoch+86400), c)
				r := compare(t, trees(t, rel, base, stamped))
				wantMember(t, r, rel, "etc/motd", map[string]string{
					fMTime: "2023-11-14T22:13:20Z (1700000000)|2023-11-15T22:13:20Z (1700086400)",
				})
				if n := r.Artifact(rel).MembersDiffering; n != 1 {
					t.Errorf("%d members differ, want only etc/motd", n)
				}
			})
			t.Run("changed bytes", func(t *testing.T) {
				r := compare(t, trees(t, rel, base, packInitrd(t, initrdTree(t, "welcomE\n"), c)))
				wantMember(t, r, rel, "etc/motd", map[string]string{fContent: sha("welcome\n") + "|" + sha("welcomE\n")})
				if c == initrd.None {
					// Uncompressed, the first differing byte is inside etc/motd's body.
					off := *r.Artifact(rel).Offset
					if got := string(base[off-6 : off+1]); got != "welcome" {
						t.Errorf("first difference at %d, in %q; want the 'e' of welcome", off, got)
					}
				}
			})
		})
	}
}

func TestCompareInitrdSameMembersOtherStream(t *testing.T) {
	// One newc stream gzipped at two levels: every member is equal, the files are not.
	const rel = "x86_64/initrd-default.img"
	newc := packInitrd(t, initrdTree(t, "welcome\n"), initrd.None)
	gz := func(level int) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, level)
		w.Write(bytes.Repeat(newc, 1))
		w.Close()
		return buf.Bytes()
	}
	r := compare(t, trees(t, rel, gz(gzip.BestSpeed), gz(gzip.BestCompression)))
	art := r.Artifact(rel)
	if r.Identical || len(art.Members) != 0 || !strings.Contains(art.Note, "every member is identical") {
		t.Fatalf("want a mismatch with no member and a note, got %s / %+v", r.Summary(), art)
	}

	// zstd against gzip: not comparable member by member, said so.
	r = compare(t, trees(t, rel, compress(t, newc, initrd.Zstd), compress(t, newc, initrd.Gzip)))
	if note := r.Artifact(rel).Note; !strings.Contains(note, "a is cpio (zstd), b is cpio (gzip)") {
		t.Errorf("note %q does not name both kinds", note)
	}
}

func TestCompareTruncatedInitrdIsANoteNotAFailure(t *testing.T) {
	const rel = "x86_64/initrd-default.img"
	newc := packInitrd(t, initrdTree(t, "welcome\n"), initrd.None)
	r := compare(t, trees(t, rel, newc, newc[:len(newc)/2]))
	art := r.Artifact(rel)
	if r.Identical || art.Offset == nil || *art.Offset != int64(len(newc)/2) {
		t.Fatalf("want the difference at byte %d, got %+v", len(newc)/2, art)
	}
	if !strings.Contains(art.Note, "truncated") {
		t.Errorf("note %q does not say the archive is truncated", art.Note)
	}
}

type tarEntry struct {
	hdr  tar.Header
	body string
}

func writeTar(t *testing.T, es []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.hdr
		h.Size = int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rootfsTar(motdTime time.Time, motd string) []tarEntry {
	ep := time.Unix(testEpoch, 0)
	return []tarEntry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755, ModTime: ep}},
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./etc/", Mode: 0o755, ModTime: ep}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./etc/hostname", Mode: 0o644, ModTime: ep}, body: "guestforge\n"},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./etc/motd", Mode: 0o644, ModTime: motdTime}, body: motd},
		{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "./bin", Linkname: "usr/bin", Mode: 0o777, ModTime: ep}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./usr/bin/ping", Mode: 0o755, ModTime: ep,
			PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00"}}, body: "ELF"},
	}
}

func TestCompareTar(t *testing.T) {
	const rel = "x86_64/rootfs-default.tar"
	ep := time.Unix(testEpoch, 0)
	base := writeTar(t, rootfsTar(ep, "welcome\n"))
	if r := compare(t, trees(t, rel, base, writeTar(t, rootfsTar(ep, "welcome\n")))); !r.Identical || r.Artifacts[0].Kind != KindTar {
		t.Fatalf("two writes of one tar: %s", r.Summary())
	}
	t.Run("injected timestamp", func(t *testing.T) {
		r := compare(t, trees(t, rel, base, writeTar(t, rootfsTar(ep.Add(90*time.Minute), "welcome\n"))))
		wantMember(t, r, rel, "./etc/motd", map[string]string{fMTime: "2023-11-14T22:13:20Z (1700000000)|2023-11-14T23:43:20Z (1700005400)"})
	})
	t.Run("changed bytes", func(t *testing.T) {
		r := compare(t, trees(t, rel, base, writeTar(t, rootfsTar(ep, "welcome!\n"))))
		wantMember(t, r, rel, "./etc/motd", map[string]string{fContent: sha("welcome\n") + "|" + sha("welcome!\n"), fSize: "8|9"})
	})
	t.Run("capability", func(t *testing.T) {
		es := rootfsTar(ep, "welcome\n")
		es[5].hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x30\x00\x00"}
		r := compare(t, trees(t, rel, base, writeTar(t, es)))
		wantMember(t, r, rel, "./usr/bin/ping", map[string]string{fXattr + "security.capability": "hex:0100000200200000|hex:0100000200300000"})
	})
	t.Run("order", func(t *testing.T) {
		es := rootfsTar(ep, "welcome\n")
		es[2], es[3] = es[3], es[2]
		r := compare(t, trees(t, rel, base, writeTar(t, es)))
		m := r.Artifact(rel).Members
		if len(m) != 1 || m[0].Change != ChangePosition || m[0].Member != "./etc/hostname" {
			t.Fatalf("want one order difference at ./etc/hostname, got %+v", m)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		gz := func(b []byte) []byte {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			w.Write(b)
			w.Close()
			return buf.Bytes()
		}
		r := compare(t, trees(t, rel+".gz", gz(base), gz(writeTar(t, rootfsTar(ep, "welcomE\n")))))
		if a := r.Artifact(rel + ".gz"); a.Kind != KindTar || a.Compression != "gzip" {
			t.Fatalf("read as %s/%s, want tar/gzip", a.Kind, a.Compression)
		}
		wantMember(t, r, rel+".gz", "./etc/motd", map[string]string{fContent: sha("welcome\n") + "|" + sha("welcomE\n")})
	})
}
