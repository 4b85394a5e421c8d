// Package rootfstest holds the synthetic raw rootfs that internal/rootfs's tests and
// internal/build's disk image tests finish: a small tree shaped like mmdebstrap's
// output, and an overlay and agent on disk.
package rootfstest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Member is one member of a synthetic mmdebstrap tarball.
type Member struct {
	Hdr  tar.Header
	Body string
}

// Raw is a small tree shaped like mmdebstrap's output on bookworm: merged /usr,
// per-build state, a hardlink, a file capability, a device node, odd owners.
func Raw() []Member {
	dir := func(name string, mode int64) Member {
		return Member{Hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./" + name + "/", Mode: mode}}
	}
	file := func(name string, mode int64, uid, gid int, body string) Member {
		return Member{Hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./" + name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(body))}, Body: body}
	}
	link := func(name, target string) Member {
		return Member{Hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "./" + name, Linkname: target, Mode: 0o777}}
	}
	ping := file("usr/bin/ping", 0o755, 0, 0, "\x7fELF ping")
	ping.Hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00",
		"SCHILY.xattr.security.selinux":    "system_u:object_r:bin_t:s0",
	}
	return []Member{
		{Hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}},
		dir("dev", 0o755),
		{Hdr: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/console", Mode: 0o666, Devmajor: 5, Devminor: 1}},
		{Hdr: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
		dir("etc", 0o755),
		// "." sorts before "/": a byte-ordered tarball would list the .conf between
		// the directory and its contents.
		dir("etc/ca-certificates", 0o755),
		dir("etc/ca-certificates/update.d", 0o755),
		file("etc/ca-certificates.conf", 0o644, 0, 0, "mozilla/ISRG_Root_X1.crt\n"),
		file("etc/hostname", 0o755, 0, 0, "buildhost\n"),
		file("etc/resolv.conf", 0o644, 0, 0, "nameserver 10.255.255.53\n"),
		file("etc/machine-id", 0o444, 0, 0, "0123456789abcdef0123456789abcdef\n"),
		file("etc/shadow", 0o640, 0, 42, "root:*:20454:0:99999:7:::\n"),
		file("etc/shadow-", 0o600, 0, 0, "root:*:20454:0:99999:7:::\n"),
		dir("etc/systemd", 0o755),
		dir("etc/systemd/system", 0o755),
		link("bin", "usr/bin"),
		link("lib", "usr/lib"),
		link("sbin", "usr/sbin"),
		dir("tmp", 0o1777),
		file("tmp/scratch", 0o644, 0, 0, "x"),
		dir("usr", 0o755),
		dir("usr/bin", 0o755),
		file("usr/bin/perl", 0o755, 0, 0, "\x7fELF perl"),
		{Hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./usr/bin/perl5.36", Linkname: "./usr/bin/perl"}},
		{Hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./usr/bin/aperl", Linkname: "./usr/bin/perl"}},
		ping,
		dir("usr/lib", 0o755),
		dir("usr/lib/systemd", 0o755),
		dir("usr/lib/systemd/system", 0o755),
		file("usr/lib/systemd/system/basic.target", 0o644, 0, 0, "[Unit]\n"),
		dir("usr/sbin", 0o755),
		dir("usr/share", 0o755),
		dir("usr/share/doc", 0o755),
		dir("usr/share/doc/bash", 0o755),
		file("usr/share/doc/bash/copyright", 0o644, 0, 0, "GPL\n"),
		dir("var", 0o755),
		dir("var/cache", 0o755),
		dir("var/cache/ldconfig", 0o700),
		file("var/cache/ldconfig/aux-cache", 0o600, 0, 0, "inode numbers"),
		dir("var/lib", 0o755),
		dir("var/lib/apt", 0o755),
		dir("var/lib/apt/lists", 0o755),
		file("var/lib/apt/lists/lock", 0o640, 0, 0, ""),
		file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", 0o644, 0, 0, "Origin: Debian\n"),
		dir("var/lib/dpkg", 0o755),
		file("var/lib/dpkg/status", 0o644, 0, 0, "Package: bash\nStatus: install ok installed\n\n"),
		file("var/lib/dpkg/status-old", 0o644, 0, 0, "Package: bash\n"),
		dir("var/log", 0o755),
		dir("var/log/apt", 0o755),
		file("var/log/apt/history.log", 0o644, 0, 0, "Start-Date: today\n"),
		file("var/log/dpkg.log", 0o644, 0, 0, "today install bash\n"),
		file("var/log/wtmp", 0o664, 0, 43, ""),
		link("var/log/README", "../../usr/share/doc/systemd/README.logs"),
		{Hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./var/log/journal/", Mode: 0o2755, Gid: 999}},
	}
}

// WriteRaw writes entries as a tarball with per-machine noise (names, times) that
// finishing must drop.
func WriteRaw(t testing.TB, entries []Member, when time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Hdr
		h.ModTime, h.Uname, h.Gname = when, "builder", "builders"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write %s: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Fixture is an image's files/ overlay and agent binary on disk.
type Fixture struct {
	Overlay, Agent string
}

// NewFixture writes an overlay (an /etc/hostname, and a unit under lib/, which must
// land in usr/lib through the merged-/usr link) and an agent to a temporary directory.
func NewFixture(t testing.TB) Fixture {
	t.Helper()
	dir := t.TempDir()
	overlay := filepath.Join(dir, "files")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(overlay, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(overlay, "etc", "hostname"), []byte("guestforge-guest\n"), 0o644))
	// Written through the merged-/usr symlink: must land in usr/lib.
	must(os.MkdirAll(filepath.Join(overlay, "lib", "systemd", "system"), 0o755))
	must(os.WriteFile(filepath.Join(overlay, "lib", "systemd", "system", "extra.service"), []byte("[Service]\n"), 0o644))
	agent := filepath.Join(dir, "agent")
	must(os.WriteFile(agent, []byte("\x7fELF the agent"), 0o600))
	return Fixture{Overlay: overlay, Agent: agent}
}
