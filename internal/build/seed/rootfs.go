package seed

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/debrepo"
)

// Rootfs merges the data.tar of packages into one root filesystem tarball, the way dpkg's
// unpack phase lays them out, without running maintainer scripts. That is enough for a
// seed whose only job is to run mmdebstrap; the images built from it are installed
// properly by dpkg.
type Rootfs struct {
	tw      *tar.Writer
	seen    map[string]bool
	files   map[string][]byte // small files kept for the fix-ups (base-passwd masters)
	modTime time.Time
}

// NewRootfs writes to w; modTime stamps the entries Rootfs creates itself.
func NewRootfs(w io.Writer, modTime time.Time) *Rootfs {
	return &Rootfs{tw: tar.NewWriter(w), seen: map[string]bool{}, files: map[string][]byte{}, modTime: modTime}
}

// keep lists files whose content Finish needs.
var keep = map[string]bool{
	"usr/share/base-passwd/passwd.master": true,
	"usr/share/base-passwd/group.master":  true,
}

// AddDeb unpacks one .deb into the tarball. The first package to ship a path wins, as
// dpkg refuses overwrites between unrelated packages.
func (r *Rootfs) AddDeb(name string, deb io.Reader) error {
	tr, closeFn, err := debrepo.DataTar(deb)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer closeFn()
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: read data.tar: %w", name, err)
		}
		p := clean(hdr.Name)
		if p == "" || r.seen[p] {
			continue
		}
		out := *hdr
		out.Name = p
		if hdr.Typeflag == tar.TypeDir {
			out.Name += "/"
		}
		if hdr.Typeflag == tar.TypeLink {
			out.Linkname = clean(hdr.Linkname)
		}
		out.Uname, out.Gname = "", ""
		out.Format = tar.FormatPAX
		if err := r.tw.WriteHeader(&out); err != nil {
			return fmt.Errorf("%s: write %s: %w", name, p, err)
		}
		var body io.Reader = tr
		if keep[p] {
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("%s: read %s: %w", name, p, err)
			}
			r.files[p] = data
			body = strings.NewReader(string(data))
		}
		if _, err := io.Copy(r.tw, body); err != nil {
			return fmt.Errorf("%s: copy %s: %w", name, p, err)
		}
		r.seen[p] = true
	}
}

func clean(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}

// Finish adds what maintainer scripts would have created and a seed needs: the base
// directories, users and groups (base-passwd's postinst copies its masters), /bin/sh,
// and an empty dpkg database, then closes the tarball.
func (r *Rootfs) Finish() error {
	dirs := []struct {
		name string
		mode int64
	}{{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"run", 0o755}, {"root", 0o700}, {"tmp", 0o1777},
		{"etc", 0o755}, {"var", 0o755}, {"var/tmp", 0o1777}, {"var/lib", 0o755}, {"var/lib/dpkg", 0o755},
		{"var/lib/dpkg/info", 0o755}, {"var/lib/dpkg/updates", 0o755}}
	for _, d := range dirs {
		if err := r.add(&tar.Header{Name: d.name + "/", Typeflag: tar.TypeDir, Mode: d.mode}, nil); err != nil {
			return err
		}
	}
	for _, c := range [][2]string{{"usr/share/base-passwd/passwd.master", "etc/passwd"}, {"usr/share/base-passwd/group.master", "etc/group"}} {
		if data, ok := r.files[c[0]]; ok {
			if err := r.add(&tar.Header{Name: c[1], Typeflag: tar.TypeReg, Mode: 0o644}, data); err != nil {
				return err
			}
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := r.add(&tar.Header{Name: f, Typeflag: tar.TypeReg, Mode: 0o644}, []byte{}); err != nil {
			return err
		}
	}
	// dash's postinst makes /bin/sh; mawk's the awk alternative.
	for _, l := range [][2]string{{"bin/sh", "dash"}, {"usr/bin/awk", "mawk"}} {
		if err := r.add(&tar.Header{Name: l[0], Typeflag: tar.TypeSymlink, Linkname: l[1]}, nil); err != nil {
			return err
		}
	}
	return r.tw.Close()
}

// add writes an entry unless a package already shipped that path.
func (r *Rootfs) add(hdr *tar.Header, data []byte) error {
	p := strings.TrimSuffix(hdr.Name, "/")
	if r.seen[p] {
		return nil
	}
	hdr.ModTime = r.modTime
	hdr.Size = int64(len(data))
	if err := r.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	if _, err := r.tw.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", hdr.Name, err)
	}
	r.seen[p] = true
	return nil
}
