package seed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ulikunitz/xz"
)

const packagesFixture = `Package: base-files
Version: 12.4
Architecture: amd64
Essential: yes
Priority: required
Pre-Depends: awk
Filename: pool/main/b/base-files/base-files_12.4_amd64.deb
Size: 10
SHA256: %[1]s

Package: mawk
Version: 1.3.4
Architecture: amd64
Priority: required
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3.4_amd64.deb
Size: 10
SHA256: %[1]s

Package: gawk
Version: 5.2
Architecture: amd64
Priority: optional
Provides: awk
Filename: pool/main/g/gawk/gawk_5.2_amd64.deb
Size: 10
SHA256: %[1]s

Package: mmdebstrap
Version: 1.3.5-7
Architecture: all
Depends: apt (>= 2.3.14), perl:any,
 python3 [amd64] | python3-minimal
Filename: pool/main/m/mmdebstrap/mmdebstrap_1.3.5-7_all.deb
Size: 10
SHA256: %[1]s

Package: apt
Version: 2.6.1
Architecture: amd64
Depends: libc6 (>= 2.34)
Filename: pool/main/a/apt/apt_2.6.1_amd64.deb
Size: 10
SHA256: %[1]s

Package: libc6
Version: 2.36
Architecture: amd64
Filename: pool/main/g/glibc/libc6_2.36_amd64.deb
Size: 10
SHA256: %[1]s

Package: perl
Version: 5.36
Architecture: amd64
Depends: libc6
Filename: pool/main/p/perl/perl_5.36_amd64.deb
Size: 10
SHA256: %[1]s

Package: python3-minimal
Version: 3.11
Architecture: amd64
Filename: pool/main/p/python3/python3-minimal_3.11_amd64.deb
Size: 10
SHA256: %[1]s
`

func fixtureIndex(t *testing.T) *Index {
	t.Helper()
	idx, err := ParseIndex("Packages", strings.NewReader(fmt.Sprintf(packagesFixture, strings.Repeat("ab", 32))))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func names(pkgs []*Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name)
	}
	return out
}

func TestResolve(t *testing.T) {
	idx := fixtureIndex(t)
	got, err := idx.Resolve([]string{"mmdebstrap"})
	if err != nil {
		t.Fatal(err)
	}
	// base-files is Essential; awk is virtual: gawk sorts first but mawk is required
	// priority, so mawk is chosen; python3 is absent, so its alternative python3-minimal.
	want := []string{"apt", "base-files", "libc6", "mawk", "mmdebstrap", "perl", "python3-minimal"}
	if !slices.Equal(names(got), want) {
		t.Fatalf("Resolve = %v, want %v", names(got), want)
	}
	if p, _ := idx.Lookup("mmdebstrap"); len(p.Depends) != 3 || !slices.Equal(p.Depends[2], []string{"python3", "python3-minimal"}) {
		t.Fatalf("mmdebstrap depends parsed as %v", p.Depends)
	}
}

func TestResolveErrors(t *testing.T) {
	idx := fixtureIndex(t)
	if _, err := idx.Resolve([]string{"no-such-package"}); err == nil || !strings.Contains(err.Error(), "no-such-package") {
		t.Fatalf("want an error naming the unknown package, got %v", err)
	}
	bad := "Package: a\nVersion: 1\nDepends: missing-lib\nFilename: a.deb\nSHA256: " + strings.Repeat("0", 64) + "\n"
	idx2, err := ParseIndex("Packages", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idx2.Resolve([]string{"a"}); err == nil || !strings.Contains(err.Error(), "a depends on missing-lib") {
		t.Fatalf("want an unsatisfiable dependency error, got %v", err)
	}
	if _, err := ParseIndex("Packages", strings.NewReader("Package: x\nVersion: 1\n")); err == nil || !strings.Contains(err.Error(), "Packages:1") {
		t.Fatalf("want a positioned error for a stanza without Filename, got %v", err)
	}
}

type file struct {
	name, body, link string
	dir              bool
}

// makeDeb builds a real .deb: ar archive with debian-binary, control.tar.gz and an
// xz-compressed data.tar.
func makeDeb(t *testing.T, files []file) []byte {
	t.Helper()
	var data bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 16}.NewWriter(&data) // a small dictionary keeps -race fast
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Uid: 0, Gid: 0, ModTime: time.Unix(1700000000, 0), Uname: "root", Gname: "root"}
		switch {
		case f.dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	var ctl bytes.Buffer
	gw := gzip.NewWriter(&ctl)
	ctw := tar.NewWriter(gw)
	if err := ctw.WriteHeader(&tar.Header{Name: "./control", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	ctw.Write([]byte("x\n\n"))
	ctw.Close()
	gw.Close()

	var deb bytes.Buffer
	deb.WriteString("!<arch>\n")
	member := func(name string, body []byte) {
		fmt.Fprintf(&deb, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(body))
		deb.Write(body)
		if len(body)%2 == 1 {
			deb.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", ctl.Bytes()) // odd sizes exercise the ar padding
	member("data.tar.xz", data.Bytes())
	return deb.Bytes()
}

type entry struct {
	typ  byte
	body string
	link string
	mode int64
}

func readTar(t *testing.T, data []byte) (map[string]entry, []string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	got := map[string]entry{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got, order
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[h.Name]; dup {
			t.Fatalf("duplicate entry %s", h.Name)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = entry{typ: h.Typeflag, body: string(b), link: h.Linkname, mode: h.Mode}
		order = append(order, h.Name)
	}
}

func TestRootfsMergesPackagesAndAddsSeedFixups(t *testing.T) {
	base := makeDeb(t, []file{
		{name: "./", dir: true},
		{name: "./usr/", dir: true},
		{name: "./usr/share/base-passwd/", dir: true},
		{name: "./usr/share/base-passwd/passwd.master", body: "root:*:0:0:root:/root:/bin/bash\n"},
		{name: "./usr/share/base-passwd/group.master", body: "root:*:0:\n"},
		{name: "./etc/os-release", body: "ID=debian\n"},
	})
	other := makeDeb(t, []file{
		{name: "./usr/", dir: true},
		{name: "./etc/os-release", body: "ID=impostor\n"},
		{name: "./usr/bin/dash", body: "\x7fELF"},
		{name: "./usr/bin/sh.distrib", link: "dash"},
	})
	var out bytes.Buffer
	r := NewRootfs(&out, time.Unix(1767225600, 0))
	if err := r.AddDeb("base-passwd", bytes.NewReader(base)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddDeb("dash", bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	got, _ := readTar(t, out.Bytes())
	if e := got["etc/os-release"]; e.body != "ID=debian\n" {
		t.Fatalf("etc/os-release = %q: the first package to ship a path must win", e.body)
	}
	if e := got["etc/passwd"]; e.body != "root:*:0:0:root:/root:/bin/bash\n" {
		t.Fatalf("etc/passwd = %q, want base-passwd's master", e.body)
	}
	if e := got["etc/group"]; e.body != "root:*:0:\n" {
		t.Fatalf("etc/group = %q", e.body)
	}
	if e := got["bin/sh"]; e.typ != tar.TypeSymlink || e.link != "dash" {
		t.Fatalf("bin/sh = %+v, want a symlink to dash", e)
	}
	if e := got["usr/bin/sh.distrib"]; e.typ != tar.TypeSymlink || e.link != "dash" {
		t.Fatalf("package symlink lost: %+v", e)
	}
	if e := got["tmp/"]; e.typ != tar.TypeDir || e.mode != 0o1777 {
		t.Fatalf("tmp/ = %+v, want a sticky world-writable dir", e)
	}
	if _, ok := got["var/lib/dpkg/status"]; !ok {
		t.Fatal("no empty dpkg status file")
	}
	if _, ok := got["usr/"]; !ok {
		t.Fatal("directory entries lost")
	}
}

func TestDataTarRejectsNonDeb(t *testing.T) {
	if _, _, err := DataTar(strings.NewReader("PK\x03\x04 not an ar archive")); err == nil {
		t.Fatal("want an error for a non-ar input")
	}
	deb := makeDeb(t, []file{{name: "./a", body: "b"}})
	cut := deb[:len(deb)/2]
	tr, closeFn, err := DataTar(bytes.NewReader(cut))
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

// archive is a fake Debian mirror signed by a throwaway key.
type archive struct {
	keyring string
	server  *httptest.Server
	files   map[string][]byte
}

func newArchive(t *testing.T, debs map[string][]byte) *archive {
	t.Helper()
	// Ed25519 keys generate instantly; Debian's archive keys are RSA and ed25519 alike.
	ent, err := openpgp.NewEntity("guestforge test archive", "", "test@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.gpg")
	kf, _ := os.Create(keyring)
	if err := ent.Serialize(kf); err != nil {
		t.Fatal(err)
	}
	kf.Close()

	a := &archive{keyring: keyring, files: map[string][]byte{}}
	var idx strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range debs {
			if !yield(k) {
				return
			}
		}
	}) {
		sum := sha256.Sum256(debs[name])
		fn := "pool/main/" + name + ".deb"
		a.files["/"+fn] = debs[name]
		essential := ""
		if name == "base-files" {
			essential = "Essential: yes\n"
		}
		fmt.Fprintf(&idx, "Package: %s\nVersion: 1\nArchitecture: amd64\n%sFilename: %s\nSize: %d\nSHA256: %s\n\n",
			name, essential, fn, len(debs[name]), hex.EncodeToString(sum[:]))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(idx.String()))
	zw.Close()
	a.files["/dists/bookworm/main/binary-amd64/Packages.gz"] = gz.Bytes()
	sum := sha256.Sum256(gz.Bytes())
	release := fmt.Sprintf("Suite: bookworm\nSHA256:\n %s %d main/binary-amd64/Packages.gz\n", hex.EncodeToString(sum[:]), gz.Len())
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, ent.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(release))
	w.Close()
	a.files["/dists/bookworm/InRelease"] = signed.Bytes()
	a.server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		data, ok := a.files[r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Write(data)
	}))
	t.Cleanup(a.server.Close)
	return a
}

func TestBuildFromASignedMirror(t *testing.T) {
	a := newArchive(t, map[string][]byte{
		"base-files": makeDeb(t, []file{{name: "./etc/debian_version", body: "12.9\n"}}),
		"mmdebstrap": makeDeb(t, []file{{name: "./usr/bin/mmdebstrap", body: "#!/usr/bin/perl\n"}}),
		"unrelated":  makeDeb(t, []file{{name: "./usr/bin/unrelated", body: "no"}}),
	})
	opts := Options{Mirror: a.server.URL, Suite: "bookworm", Arch: "amd64", Packages: []string{"mmdebstrap"},
		Keyring: a.keyring, CacheDir: t.TempDir(), Epoch: time.Unix(1767225600, 0)}
	var out bytes.Buffer
	pkgs, err := Build(context.Background(), opts, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pkgs); !slices.Equal(got, []string{"base-files", "mmdebstrap"}) {
		t.Fatalf("packages = %v", got)
	}
	got, _ := readTar(t, out.Bytes())
	if got["etc/debian_version"].body != "12.9\n" || got["usr/bin/mmdebstrap"].body != "#!/usr/bin/perl\n" {
		t.Fatalf("rootfs lacks the packages' files: %v", got)
	}
	if _, ok := got["usr/bin/unrelated"]; ok {
		t.Fatal("a package nobody asked for was unpacked")
	}

	// Same inputs, same bytes: the seed image's key can stand for its content.
	var again bytes.Buffer
	if _, err := Build(context.Background(), opts, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Fatal("two builds of the same seed differ")
	}

	// A mirror serving other bytes than the signed index lists is refused.
	a.files["/pool/main/mmdebstrap.deb"] = makeDeb(t, []file{{name: "./usr/bin/mmdebstrap", body: "evil"}})
	opts.CacheDir = t.TempDir()
	if _, err := Build(context.Background(), opts, io.Discard); err == nil || !strings.Contains(err.Error(), "the signed index says") {
		t.Fatalf("want a sha256 mismatch for a tampered .deb, got %v", err)
	}
}

func TestVerifyReleaseRejectsForgery(t *testing.T) {
	a := newArchive(t, map[string][]byte{"base-files": makeDeb(t, nil)})
	signed := a.files["/dists/bookworm/InRelease"]
	text, err := VerifyRelease(signed, a.keyring)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReleaseSHA256(text, "main/binary-amd64/Packages.gz"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReleaseSHA256(text, "main/binary-s390x/Packages.gz"); err == nil {
		t.Fatal("want an error for a path the Release file does not list")
	}
	forged := bytes.Replace(signed, []byte("Suite: bookworm"), []byte("Suite: trixie!!"), 1)
	if _, err := VerifyRelease(forged, a.keyring); err == nil {
		t.Fatal("a modified InRelease verified")
	}
	other := newArchive(t, map[string][]byte{"base-files": makeDeb(t, nil)})
	if _, err := VerifyRelease(signed, other.keyring); err == nil {
		t.Fatal("InRelease verified against a keyring without its signer")
	}
	if _, err := VerifyRelease([]byte("not signed"), a.keyring); err == nil {
		t.Fatal("an unsigned InRelease verified")
	}
}
