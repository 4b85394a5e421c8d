package kata

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path"
	"strings"
	"testing"
	"time"
)

func bytesEntry(b []byte) (int64, func() (io.ReadCloser, error)) {
	return int64(len(b)), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// testStaticEntries is one arch's release: the default kernel pair, the
// systemd image measured, an initrd, and the confidential image.
func testStaticEntries(t *testing.T) ([]StaticEntry, map[string][]byte) {
	t.Helper()
	vars := NameVars{KernelVersion: "6.12.8", ConfigVersion: "c0ffee12", Distro: "debian", DistroVersion: "12"}
	contents := map[string][]byte{}
	var all []StaticEntry
	add := func(a Artifact, variant string, data []byte) {
		size, open := bytesEntry(data)
		es, err := StaticEntries(a, variant, vars, size, open)
		if err != nil {
			t.Fatal(err)
		}
		contents[es[0].Name] = data
		all = append(all, es...)
	}
	// Added out of order on purpose: the writer sorts.
	add(ArtifactImage, "default", bytes.Repeat([]byte{0xAB}, 3000))
	add(ArtifactVmlinuz, "default", []byte("bzImage bytes"))
	add(ArtifactVmlinux, "default", []byte("\x7fELF vmlinux bytes"))
	add(ArtifactRootHash, "default", testVerity().RootHashFile())
	add(ArtifactInitrd, "default", []byte("070701 cpio"))
	add(ArtifactImage, "confidential", []byte("confidential image"))
	add(ArtifactVmlinux, "confidential", []byte("confidential vmlinux"))
	return all, contents
}

func TestWriteStaticTarball(t *testing.T) {
	entries, contents := testStaticEntries(t)
	const epoch = 1764720000 // 2025-12-03T00:00:00Z
	var first, second bytes.Buffer
	if err := WriteStaticTarball(&first, epoch, entries); err != nil {
		t.Fatal(err)
	}
	// Same inputs in another order, second run: the bytes must not move.
	reversed := append([]StaticEntry(nil), entries...)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	if err := WriteStaticTarball(&second, epoch, reversed); err != nil {
		t.Fatal(err)
	}
	sum1, sum2 := sha256.Sum256(first.Bytes()), sha256.Sum256(second.Bytes())
	if sum1 != sum2 {
		t.Fatalf("two writes differ: %s vs %s", hex.EncodeToString(sum1[:]), hex.EncodeToString(sum2[:]))
	}
	var third bytes.Buffer
	if err := WriteStaticTarball(&third, epoch+1, entries); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Bytes(), third.Bytes()) {
		t.Fatal("SOURCE_DATE_EPOCH does not reach the tar: a different epoch gave the same bytes")
	}

	type member struct {
		name, link string
		typ        byte
		mode       int64
	}
	const d = "./opt/kata/share/kata-containers/"
	want := []member{
		{"./opt/", "", tar.TypeDir, 0o755},
		{"./opt/kata/", "", tar.TypeDir, 0o755},
		{"./opt/kata/share/", "", tar.TypeDir, 0o755},
		{d, "", tar.TypeDir, 0o755},
		{d + "kata-containers-confidential.img", "kata-debian-12-confidential.image", tar.TypeSymlink, 0o777},
		{d + "kata-containers-initrd.img", "kata-debian-12.initrd", tar.TypeSymlink, 0o777},
		{d + "kata-containers.img", "kata-debian-12.image", tar.TypeSymlink, 0o777},
		{d + "kata-debian-12-confidential.image", "", tar.TypeReg, 0o644},
		{d + "kata-debian-12.image", "", tar.TypeReg, 0o644},
		{d + "kata-debian-12.initrd", "", tar.TypeReg, 0o644},
		{d + "root_hash_base.txt", "", tar.TypeReg, 0o644},
		{d + "vmlinux-6.12.8-c0ffee12", "", tar.TypeReg, 0o644},
		{d + "vmlinux-6.12.8-c0ffee12-confidential", "", tar.TypeReg, 0o644},
		{d + "vmlinux-confidential.container", "vmlinux-6.12.8-c0ffee12-confidential", tar.TypeSymlink, 0o777},
		{d + "vmlinux.container", "vmlinux-6.12.8-c0ffee12", tar.TypeSymlink, 0o777},
		{d + "vmlinuz-6.12.8-c0ffee12", "", tar.TypeReg, 0o644},
		{d + "vmlinuz.container", "vmlinuz-6.12.8-c0ffee12", tar.TypeSymlink, 0o777},
	}
	tr := tar.NewReader(bytes.NewReader(first.Bytes()))
	for i := 0; ; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("tar has %d members, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("extra member %s", h.Name)
		}
		w := want[i]
		got := member{h.Name, h.Linkname, h.Typeflag, h.Mode}
		if got != w {
			t.Errorf("member %d: got %+v, want %+v", i, got, w)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(epoch, 0)) ||
			h.Format != tar.FormatUSTAR || len(h.PAXRecords) != 0 || h.Devmajor != 0 || h.Devminor != 0 {
			t.Errorf("member %s carries metadata: uid %d gid %d uname %q gname %q mtime %v format %v pax %v",
				h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.Format, h.PAXRecords)
		}
		clean := path.Clean(h.Name)
		if strings.HasPrefix(h.Name, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(h.Name, "/../") {
			t.Errorf("member %s escapes the extraction root", h.Name)
		}
		if h.Typeflag == tar.TypeSymlink && (strings.Contains(h.Linkname, "/") || h.Linkname == "..") {
			t.Errorf("link %s -> %s leaves its directory", h.Name, h.Linkname)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if wantData := contents[path.Base(h.Name)]; !bytes.Equal(data, wantData) {
				t.Errorf("member %s: content %q, want %q", h.Name, data, wantData)
			}
		}
	}
	rootHash := string(contents["root_hash_base.txt"])
	if rootHash != testVerity().Format()+"\n" {
		t.Fatalf("root_hash_base.txt = %q", rootHash)
	}
}

func TestWriteStaticTarballRejects(t *testing.T) {
	size, open := bytesEntry([]byte("abc"))
	file := StaticEntry{Name: "f", Size: size, Open: open}
	tests := []struct {
		name    string
		entries []StaticEntry
		want    string
	}{
		{"dot dot", []StaticEntry{{Name: "..", Size: size, Open: open}}, `kata: kata-static entry name ".." is not a file name: give the file's base name`},
		{"absolute", []StaticEntry{{Name: "/etc/passwd", Size: size, Open: open}}, `kata: kata-static entry name "/etc/passwd" is not a single path element: entries live directly in ./opt/kata/share/kata-containers`},
		{"nested", []StaticEntry{{Name: "a/../../b", Size: size, Open: open}}, `kata: kata-static entry name "a/../../b" is not a single path element: entries live directly in ./opt/kata/share/kata-containers`},
		{"too long for USTAR", []StaticEntry{{Name: strings.Repeat("k", 101), Size: size, Open: open}}, `kata: kata-static entry name "` + strings.Repeat("k", 101) + `" is 101 bytes, more than the 100 a USTAR member name holds: shorten it`},
		{"empty", []StaticEntry{{Name: "", Size: size, Open: open}}, `kata: kata-static entry name "" is empty: give the file's base name`},
		{"duplicate", []StaticEntry{file, file}, `kata: kata-static entry "f" appears twice: each name is one file in ./opt/kata/share/kata-containers`},
		{"dangling link", []StaticEntry{file, {Name: "l", LinkTarget: "g"}}, `kata: kata-static link "l" points at "g", which is not in the tree: add the file or fix the link`},
		{"escaping link", []StaticEntry{file, {Name: "l", LinkTarget: "../../etc/shadow"}}, `kata: kata-static link "l" points at "../../etc/shadow", which is not in the tree: add the file or fix the link`},
		{"link to link", []StaticEntry{file, {Name: "l", LinkTarget: "f"}, {Name: "m", LinkTarget: "l"}}, `kata: kata-static link "m" points at another link "l": point it at the file "f", as Kata does`},
		{"no content", []StaticEntry{{Name: "f"}}, `kata: kata-static entry "f" has neither content (Open) nor a LinkTarget: set one`},
		{"short content", []StaticEntry{{Name: "f", Size: 4, Open: open}}, `kata: kata-static entry f: Open yielded 3 bytes, Size says 4: pass the file's real size`},
		{"long content", []StaticEntry{{Name: "f", Size: 2, Open: open}}, `kata: kata-static entry f: Open yields more than the 2 bytes Size says: pass the file's real size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteStaticTarball(io.Discard, 0, tt.entries)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStaticEntriesNames(t *testing.T) {
	vars := NameVars{KernelVersion: "6.12.8", ConfigVersion: "abc", Distro: "debian", DistroVersion: "12"}
	tests := []struct {
		a          Artifact
		variant    string
		file, link string
	}{
		{ArtifactVmlinux, "debug", "vmlinux-6.12.8-abc-debug", "vmlinux-debug.container"},
		{ArtifactVmlinuz, "nvidia-gpu", "vmlinuz-6.12.8-abc-nvidia-gpu", "vmlinuz-nvidia-gpu.container"},
		{ArtifactVmlinuz, "confidential", "vmlinuz-6.12.8-abc-confidential", "vmlinuz-confidential.container"},
		{ArtifactInitrd, "confidential", "kata-debian-12-confidential.initrd", "kata-containers-initrd-confidential.img"},
		{ArtifactRootHash, "confidential", "root_hash_confidential.txt", ""},
	}
	for _, tt := range tests {
		es, err := StaticEntries(tt.a, tt.variant, vars, 0, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil })
		if err != nil {
			t.Fatal(err)
		}
		if es[0].Name != tt.file {
			t.Errorf("%s %s: file %q, want %q", tt.a, tt.variant, es[0].Name, tt.file)
		}
		gotLink := ""
		if len(es) == 2 {
			gotLink = es[1].Name
			if es[1].LinkTarget != tt.file {
				t.Errorf("%s %s: link target %q, want %q", tt.a, tt.variant, es[1].LinkTarget, tt.file)
			}
		}
		if gotLink != tt.link {
			t.Errorf("%s %s: link %q, want %q", tt.a, tt.variant, gotLink, tt.link)
		}
	}
	for _, c := range []struct {
		a       Artifact
		variant string
		vars    NameVars
		want    string
	}{
		{ArtifactImage, "systemd", vars, `kata: kata-deploy has no name for image variant "systemd": use one of default, confidential`},
		{"firmware", "default", vars, `kata: no kata-deploy name for artifact "firmware": use one of vmlinux, vmlinuz, image, initrd, root-hash`},
		{ArtifactVmlinux, "default", NameVars{KernelVersion: "../x", ConfigVersion: "c"}, `kata: naming vmlinux variant default: {kver} is "../x" in NameVars: set it to a plain name without '/'`},
		{ArtifactImage, "default", NameVars{Distro: "debian"}, `kata: naming image variant default: {version} is "" in NameVars: set it to a plain name without '/'`},
	} {
		_, err := StaticEntries(c.a, c.variant, c.vars, 0, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("StaticEntries(%s, %s) error = %v, want %q", c.a, c.variant, err, c.want)
		}
	}
}

// TestWriteStaticTarballLongestName: a 100-byte name still fits USTAR (the
// directory goes into the prefix field) and reads back whole.
func TestWriteStaticTarballLongestName(t *testing.T) {
	name := strings.Repeat("n", 100)
	size, open := bytesEntry([]byte("x"))
	var buf bytes.Buffer
	if err := WriteStaticTarball(&buf, 0, []StaticEntry{{Name: name, Size: size, Open: open}}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var last *tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = h
	}
	if last == nil || last.Name != StaticDir+"/"+name || len(last.PAXRecords) != 0 {
		t.Fatalf("last member %+v, want %s/%s without PAX records", last, StaticDir, name)
	}
}
