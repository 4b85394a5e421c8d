// Package debrepotest makes real Debian artifacts for tests: .deb files (ar, a
// control.tar.gz with a real control file, an xz data.tar) and a Debian mirror served
// over HTTP whose InRelease is signed by a throwaway key, laid out as deb.debian.org is.
package debrepotest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ulikunitz/xz"
)

// File is one member of a package's data.tar.
type File struct {
	Name, Body, Link string
	Dir              bool
}

// Deb builds a real .deb with control as its control file (without a trailing blank
// line) and files in its data.tar.
func Deb(t testing.TB, control string, files []File) []byte {
	t.Helper()
	var data bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 1 << 16}.NewWriter(&data) // a small dictionary keeps -race fast
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, Mode: 0o644, ModTime: time.Unix(1700000000, 0), Uname: "root", Gname: "root"}
		switch {
		case f.Dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case f.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Body))
		}
		must(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(f.Body))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, xw.Close())
	var ctl bytes.Buffer
	gw := gzip.NewWriter(&ctl)
	ctw := tar.NewWriter(gw)
	body := strings.TrimRight(control, "\n") + "\n"
	must(t, ctw.WriteHeader(&tar.Header{Name: "./", Mode: 0o755, Typeflag: tar.TypeDir}))
	must(t, ctw.WriteHeader(&tar.Header{Name: "./control", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
	_, err = ctw.Write([]byte(body))
	must(t, err)
	must(t, ctw.Close())
	must(t, gw.Close())

	var deb bytes.Buffer
	deb.WriteString("!<arch>\n")
	member := func(name string, body []byte) {
		fmt.Fprintf(&deb, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(body))
		deb.Write(body)
		if len(body)%2 == 1 {
			deb.WriteByte('\n') // odd sizes exercise the ar padding
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", ctl.Bytes())
	member("data.tar.xz", data.Bytes())
	return deb.Bytes()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Pkg is one package of an Archive.
type Pkg struct {
	Name, Version, Arch string
	Priority            string // the archive's override ("optional" when empty)
	Essential           bool
	Depends             string
	Files               []File
}

// Control is the package's control file as dpkg-deb would write it. Its Priority is
// "optional" whatever the archive's override says, as many real packages have it.
func (p Pkg) Control() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: %s\n", p.Name, p.Version, p.Arch)
	if p.Essential {
		b.WriteString("Essential: yes\n")
	}
	b.WriteString("Priority: optional\nMaintainer: Test <test@example.invalid>\n")
	if p.Depends != "" {
		fmt.Fprintf(&b, "Depends: %s\n", p.Depends)
	}
	fmt.Fprintf(&b, "Description: %s for tests\n a package made by debrepotest\n", p.Name)
	return b.String()
}

// Filename is where the archive keeps it.
func (p Pkg) Filename() string {
	return fmt.Sprintf("pool/main/%c/%s/%s_%s_%s.deb", p.Name[0], p.Name, p.Name, p.Version, p.Arch)
}

// Archive is a Debian mirror of one suite signed by a throwaway key.
type Archive struct {
	Keyring string // the binary keyring that verifies InRelease
	URL     string
	Suite   string

	t      testing.TB
	entity *openpgp.Entity
	mu     sync.Mutex
	files  map[string][]byte
	debs   map[string][]byte // Filename -> .deb
	pkgs   map[string][]Pkg  // arch -> packages
	date   time.Time
}

// NewArchive serves suite with no packages yet; Publish fills it.
func NewArchive(t testing.TB, suite string) *Archive {
	t.Helper()
	// Ed25519 keys generate instantly; Debian's archive keys are RSA and ed25519 alike.
	ent, err := openpgp.NewEntity("guestforge test archive", "", "test@example.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	must(t, err)
	dir := t.TempDir()
	a := &Archive{t: t, entity: ent, Suite: suite, Keyring: filepath.Join(dir, "keyring.gpg"),
		files: map[string][]byte{}, debs: map[string][]byte{}, pkgs: map[string][]Pkg{}}
	var kr bytes.Buffer
	must(t, ent.Serialize(&kr))
	must(t, os.WriteFile(a.Keyring, kr.Bytes(), 0o644))
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

func (a *Archive) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	data, ok := a.files[r.URL.Path]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

// Publish replaces the suite's packages for their architectures with pkgs (an "all"
// package is listed in every binary-<arch> index published with it) and re-signs
// InRelease with date. Old .debs stay in the pool until Remove, as on a real mirror
// for a while.
func (a *Archive) Publish(date time.Time, arches []string, pkgs ...Pkg) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, arch := range arches {
		a.pkgs[arch] = nil
		for _, p := range pkgs {
			if p.Arch == arch || p.Arch == "all" {
				a.pkgs[arch] = append(a.pkgs[arch], p)
			}
		}
	}
	for _, p := range pkgs {
		if _, ok := a.debs[p.Filename()]; !ok {
			a.debs[p.Filename()] = Deb(a.t, p.Control(), p.Files)
		}
		a.files["/"+p.Filename()] = a.debs[p.Filename()]
	}
	a.date = date
	a.sign()
}

// Deb returns the .deb the pool holds for p.
func (a *Archive) Deb(p Pkg) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.debs[p.Filename()]
}

// Remove takes a file out of the pool (a superseded package after the archive's
// grace period).
func (a *Archive) Remove(filename string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.files, "/"+filename)
}

// Replace serves other bytes for a pool file without changing the index: a corrupt or
// malicious mirror.
func (a *Archive) Replace(filename string, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files["/"+filename] = data
}

// Stanza is p's stanza of the index, as the archive writes it.
func (a *Archive) Stanza(p Pkg) string {
	deb := a.debs[p.Filename()]
	sum := sha256.Sum256(deb)
	ctl := strings.Replace(p.Control(), "Priority: optional\n", "", 1)
	prio := p.Priority
	if prio == "" {
		prio = "optional"
	}
	return fmt.Sprintf("%sPriority: %s\nFilename: %s\nSize: %d\nSHA256: %s\n\n", ctl, prio, p.Filename(), len(deb), hex.EncodeToString(sum[:]))
}

// sign writes every index and a signed InRelease listing them.
func (a *Archive) sign() {
	var sums strings.Builder
	for _, arch := range slices.Sorted(maps.Keys(a.pkgs)) {
		var idx strings.Builder
		for _, p := range a.pkgs[arch] {
			idx.WriteString(a.Stanza(p))
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(idx.String()))
		zw.Close()
		rel := "main/binary-" + arch + "/Packages.gz"
		a.files["/dists/"+a.Suite+"/"+rel] = gz.Bytes()
		sum := sha256.Sum256(gz.Bytes())
		fmt.Fprintf(&sums, " %s %d %s\n", hex.EncodeToString(sum[:]), gz.Len(), rel)
	}
	release := fmt.Sprintf("Origin: Debian\nLabel: Debian\nSuite: oldstable\nVersion: 12.12\nCodename: %s\nDate: %s\nArchitectures: %s\nComponents: main\nSHA256:\n%s",
		a.Suite, a.date.UTC().Format(time.RFC1123), strings.Join(slices.Sorted(maps.Keys(a.pkgs)), " "), sums.String())
	var signed bytes.Buffer
	w, err := clearsign.Encode(&signed, a.entity.PrivateKey, nil)
	must(a.t, err)
	w.Write([]byte(release))
	must(a.t, w.Close())
	a.files["/dists/"+a.Suite+"/InRelease"] = signed.Bytes()
}

// File returns what the archive serves at path (e.g. /dists/bookworm/InRelease).
func (a *Archive) File(path string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.files[path]
}

// SetFile serves data at path.
func (a *Archive) SetFile(path string, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files[path] = data
}

// Snapshot writes the suite as a feeds directory (debrepo.Snapshot) under dir.
func (a *Archive) Snapshot(dir string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, data := range a.files {
		if !strings.HasPrefix(p, "/dists/") {
			continue
		}
		dst := filepath.Join(dir, "debian", filepath.FromSlash(p))
		must(a.t, os.MkdirAll(filepath.Dir(dst), 0o755))
		must(a.t, os.WriteFile(dst, data, 0o644))
	}
}
