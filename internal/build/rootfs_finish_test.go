package build

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
)

// rawEntry is one member of a synthetic mmdebstrap tarball.
type rawEntry struct {
	hdr  tar.Header
	body string
}

// rawRootfs is a small tree shaped like mmdebstrap's output on bookworm: merged /usr,
// per-build state, a hardlink, a file capability, a device node, odd owners.
func rawRootfs() []rawEntry {
	dir := func(name string, mode int64) rawEntry {
		return rawEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./" + name + "/", Mode: mode}}
	}
	file := func(name string, mode int64, uid, gid int, body string) rawEntry {
		return rawEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./" + name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(body))}, body: body}
	}
	link := func(name, target string) rawEntry {
		return rawEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "./" + name, Linkname: target, Mode: 0o777}}
	}
	ping := file("usr/bin/ping", 0o755, 0, 0, "\x7fELF ping")
	ping.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00",
		"SCHILY.xattr.security.selinux":    "system_u:object_r:bin_t:s0",
	}
	return []rawEntry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}},
		dir("dev", 0o755),
		{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/console", Mode: 0o666, Devmajor: 5, Devminor: 1}},
		{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "./dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
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
		{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./usr/bin/perl5.36", Linkname: "./usr/bin/perl"}},
		{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./usr/bin/aperl", Linkname: "./usr/bin/perl"}},
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
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./var/log/journal/", Mode: 0o2755, Gid: 999}},
	}
}

// writeRaw writes entries as a tarball with per-machine noise (names, times) that
// finishing must drop.
func writeRaw(t *testing.T, entries []rawEntry, when time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime, h.Uname, h.Gname = when, "builder", "builders"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write %s: %v", h.Name, err)
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

type outEntry struct {
	hdr  *tar.Header
	body string
}

func readOut(t *testing.T, b []byte) ([]string, map[string]outEntry) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	m := map[string]outEntry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, m
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		m[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = outEntry{hdr: h, body: string(body)}
	}
}

type finishFixture struct {
	overlay, agent string
}

func newFinishFixture(t *testing.T) finishFixture {
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
	return finishFixture{overlay: overlay, agent: agent}
}

func (f finishFixture) spec(mode initrd.InitMode) FinishSpec {
	return FinishSpec{
		Image: "default", ImageFile: "images/default.yaml", Arch: arch.MustParse("x86_64"), Init: mode,
		Epoch: 1767225600, Delete: []string{"/usr/share/doc", "/usr/share/man"},
		Overlay: f.overlay, Agent: f.agent,
	}
}

func finish(t *testing.T, raw []byte, spec FinishSpec) ([]byte, RootfsStats) {
	t.Helper()
	var out bytes.Buffer
	st, err := FinishRootfs(bytes.NewReader(raw), int64(len(raw)), &out, spec)
	if err != nil {
		t.Fatalf("FinishRootfs: %v", err)
	}
	return out.Bytes(), st
}

func TestFinishRootfsAgentMode(t *testing.T) {
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	out, st := finish(t, raw, fx.spec(initrd.InitAgent))
	names, m := readOut(t, out)

	var paths []string
	for _, n := range names[1:] {
		paths = append(paths, strings.TrimSuffix(strings.TrimPrefix(n, "./"), "/"))
	}
	if !slices.IsSortedFunc(paths, comparePaths) {
		t.Errorf("entries are not sorted by path: %v", paths)
	}
	ca, conf := slices.Index(paths, "etc/ca-certificates/update.d"), slices.Index(paths, "etc/ca-certificates.conf")
	if ca < 0 || conf < 0 || ca > conf {
		t.Errorf("a directory's entries must follow it directly: update.d at %d, ca-certificates.conf at %d", ca, conf)
	}
	if names[0] != "./" {
		t.Errorf("first entry = %q, want the root ./", names[0])
	}
	for name, e := range m {
		if !e.hdr.ModTime.Equal(time.Unix(1767225600, 0)) {
			t.Errorf("%s: mtime %v, want the epoch", name, e.hdr.ModTime)
		}
		if e.hdr.Uname != "" || e.hdr.Gname != "" {
			t.Errorf("%s: user/group names %q/%q leak from the build machine", name, e.hdr.Uname, e.hdr.Gname)
		}
		if !e.hdr.AccessTime.IsZero() || !e.hdr.ChangeTime.IsZero() {
			t.Errorf("%s: access/change time recorded", name)
		}
	}
	gone := []string{"etc/resolv.conf", "etc/shadow-", "tmp/scratch", "var/cache/ldconfig/aux-cache",
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "var/lib/dpkg/status-old",
		"var/log/apt/history.log", "var/log/dpkg.log", "usr/share/doc", "usr/share/doc/bash/copyright"}
	for _, p := range gone {
		if _, ok := m[p]; ok {
			t.Errorf("%s survived finishing", p)
		}
	}
	kept := []string{"tmp", "var/lib/apt/lists/lock", "var/log/wtmp", "var/log/README", "var/log/journal", "var/log/apt", "var/lib/dpkg/status", "var/cache/ldconfig"}
	for _, p := range kept {
		if _, ok := m[p]; !ok {
			t.Errorf("%s is missing", p)
		}
	}
	if got := m["etc/hostname"].body; got != "guestforge-guest\n" {
		t.Errorf("/etc/hostname = %q, want the overlay's", got)
	}
	if e := m["etc/machine-id"]; e.body != "" || e.hdr.Mode != 0o444 {
		t.Errorf("/etc/machine-id = %q mode %o, want empty 0444", e.body, e.hdr.Mode)
	}
	if e := m["etc/shadow"]; e.hdr.Uid != 0 || e.hdr.Gid != 42 || e.hdr.Mode != 0o640 {
		t.Errorf("/etc/shadow owner %d:%d mode %o, want dpkg's 0:42 0640", e.hdr.Uid, e.hdr.Gid, e.hdr.Mode)
	}
	if e := m["var/log/journal"]; e.hdr.Gid != 999 || e.hdr.Mode != 0o2755 {
		t.Errorf("/var/log/journal gid %d mode %o, want 999 02755", e.hdr.Gid, e.hdr.Mode)
	}
	if e, ok := m["usr/lib/systemd/system/extra.service"]; !ok || e.body != "[Service]\n" || e.hdr.Uid != 0 {
		t.Errorf("overlay file written under lib/ did not land in usr/lib: %+v", e)
	}
	if e := m["lib"]; e.hdr.Typeflag != tar.TypeSymlink {
		t.Errorf("/lib became a %c, want the merged-/usr symlink kept", e.hdr.Typeflag)
	}
	if e := m["usr/bin/kata-agent"]; e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o755 || e.body != "\x7fELF the agent" {
		t.Errorf("/usr/bin/kata-agent = %c mode %o %q, want the agent, 0755", e.hdr.Typeflag, e.hdr.Mode, e.body)
	}
	// Kata's agent-init layout: /sbin/init is the agent, /init (the initrd's
	// entry point) leads there too.
	if e := m["usr/sbin/init"]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "/usr/bin/kata-agent" {
		t.Errorf("/usr/sbin/init = %+v, want a symlink to /usr/bin/kata-agent", e.hdr)
	}
	if e := m["init"]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "/sbin/init" {
		t.Errorf("/init = %+v, want a symlink to /sbin/init", e.hdr)
	}
	if e := m["dev/console"]; e.hdr.Typeflag != tar.TypeChar || e.hdr.Devmajor != 5 || e.hdr.Devminor != 1 {
		t.Errorf("/dev/console = %+v", e.hdr)
	}
	// Hardlinks: the first name in archive order carries the bytes.
	if e := m["usr/bin/aperl"]; e.hdr.Typeflag != tar.TypeReg || e.body != "\x7fELF perl" {
		t.Errorf("usr/bin/aperl = %c %q, want the group's content", e.hdr.Typeflag, e.body)
	}
	for _, p := range []string{"usr/bin/perl", "usr/bin/perl5.36"} {
		if e := m[p]; e.hdr.Typeflag != tar.TypeLink || e.hdr.Linkname != "./usr/bin/aperl" {
			t.Errorf("%s = %c -> %q, want a hardlink to ./usr/bin/aperl", p, e.hdr.Typeflag, e.hdr.Linkname)
		}
	}
	ping := m["usr/bin/ping"].hdr
	if ping.PAXRecords["SCHILY.xattr.security.capability"] == "" {
		t.Errorf("ping lost its file capability: %v", ping.PAXRecords)
	}
	if _, ok := ping.PAXRecords["SCHILY.xattr.security.selinux"]; ok {
		t.Errorf("the build host's SELinux label was kept")
	}
	if st.Files == 0 || st.ContentBytes == 0 || st.DataBlocks == 0 || st.Dirs == 0 {
		t.Errorf("stats not filled: %+v", st)
	}
	var want int64
	for _, e := range m {
		if e.hdr.Typeflag == tar.TypeReg {
			want += e.hdr.Size
		}
	}
	if st.ContentBytes != want {
		t.Errorf("ContentBytes = %d, the tarball holds %d bytes of regular files", st.ContentBytes, want)
	}
}

func TestFinishRootfsSystemdMode(t *testing.T) {
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Unix(0, 0))
	out, _ := finish(t, raw, fx.spec(initrd.InitSystemd))
	_, m := readOut(t, out)
	if e := m["usr/bin/kata-agent"]; e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o755 || e.body != "\x7fELF the agent" {
		t.Errorf("agent unit binary = %+v", e.hdr)
	}
	if e := m["init"]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != initrd.SystemdPath {
		t.Errorf("/init = %+v, want -> %s", e.hdr, initrd.SystemdPath)
	}
	target := "/" + initrd.SystemUnitDir + "/" + initrd.GuestTarget
	for _, link := range []string{"etc/systemd/system/default.target", "etc/systemd/system/basic.target.wants/" + initrd.GuestTarget} {
		if e := m[link]; e.hdr.Linkname != target {
			t.Errorf("%s = %+v, want -> %s", link, e.hdr, target)
		}
	}
	unit := m[initrd.SystemUnitDir+"/"+initrd.AgentUnit]
	if !strings.Contains(unit.body, "ExecStart=/"+initrd.AgentBinary) {
		t.Errorf("agent unit does not start the agent:\n%s", unit.body)
	}
	for _, u := range initrd.MaskedUnits {
		if e := m["etc/systemd/system/"+u]; e.hdr.Linkname != "/dev/null" {
			t.Errorf("%s is not masked: %+v", u, e.hdr)
		}
	}
	if _, ok := m["usr/sbin/init"]; ok {
		t.Errorf("systemd mode must not point /sbin/init at the agent")
	}
}

// The finished tarball is a function of the content only: member order, mtimes and
// owner names of the raw tarball do not reach it.
func TestFinishRootfsDeterministic(t *testing.T) {
	fx := newFinishFixture(t)
	entries := rawRootfs()
	a, _ := finish(t, writeRaw(t, entries, time.Unix(1, 0)), fx.spec(initrd.InitAgent))

	shuffled := slices.Clone(entries)
	r := rand.New(rand.NewPCG(1, 2))
	// Keep hardlinks after their target (a tar requirement), shuffle the rest.
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortStableFunc(shuffled, func(x, y rawEntry) int {
		rank := func(e rawEntry) int {
			if e.hdr.Typeflag == tar.TypeLink {
				return 1
			}
			return 0
		}
		return rank(x) - rank(y)
	})
	b, _ := finish(t, writeRaw(t, shuffled, time.Now()), fx.spec(initrd.InitAgent))
	if ha, hb := sha(a), sha(b); ha != hb {
		t.Fatalf("two finishes of the same content differ: %s vs %s", ha, hb)
	}
	// And the content does reach it.
	other := fx.spec(initrd.InitAgent)
	other.Delete = nil
	c, _ := finish(t, writeRaw(t, entries, time.Unix(1, 0)), other)
	if sha(a) == sha(c) {
		t.Fatal("a different delete: list gave the same tarball")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFinishRootfsBudget(t *testing.T) {
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Unix(0, 0))
	spec := fx.spec(initrd.InitAgent)
	spec.Budget, spec.BudgetBytes = "64B", 64
	var out bytes.Buffer
	_, err := FinishRootfs(bytes.NewReader(raw), int64(len(raw)), &out, spec)
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a *BudgetError", err)
	}
	if out.Len() != 0 {
		t.Errorf("%d bytes written before the budget check failed", out.Len())
	}
	for _, want := range []string{"image default", "64B", "images/default.yaml", "largest directories: /etc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if be.Actual <= be.BudgetBytes {
		t.Errorf("Actual %d not over budget %d", be.Actual, be.BudgetBytes)
	}
	// Within budget it passes.
	spec.Budget, spec.BudgetBytes = "1MiB", 1<<20
	finish(t, raw, spec)
}

func TestFinishRootfsRefuses(t *testing.T) {
	fx := newFinishFixture(t)
	// Agents an image's agent: may name that the guest could never run.
	agents := t.TempDir()
	emptyAgent := filepath.Join(agents, "empty")
	scriptAgent := filepath.Join(agents, "script")
	fifoAgent := filepath.Join(agents, "fifo")
	if err := errors.Join(os.WriteFile(emptyAgent, nil, 0o755),
		os.WriteFile(scriptAgent, []byte("#!/usr/bin/python3\n"), 0o755),
		syscall.Mkfifo(fifoAgent, 0o755)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		entries []rawEntry
		mutate  func(*FinishSpec)
		want    string
	}{
		{"no agent", rawRootfs(), func(s *FinishSpec) { s.Agent = "" }, "no agent binary"},
		{"agent missing on disk", rawRootfs(), func(s *FinishSpec) { s.Agent = "/nonexistent/agent" }, "agent binary"},
		{"empty agent", rawRootfs(), func(s *FinishSpec) { s.Agent = emptyAgent }, "agent " + emptyAgent + " is empty: pass the built agent binary"},
		{"script agent without its interpreter", rawRootfs(), func(s *FinishSpec) { s.Agent = scriptAgent },
			"agent " + scriptAgent + " is a script for /usr/bin/python3, which is not in the tree being packed"},
		{"FIFO agent", rawRootfs(), func(s *FinishSpec) { s.Agent = fifoAgent }, "agent " + fifoAgent + " is a FIFO, not a regular file"},
		{"escaping member", append(rawRootfs(), rawEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./../evil", Mode: 0o644}}), nil, "leaves the rootfs"},
		{"dangling hardlink", append(rawRootfs(), rawEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./x", Linkname: "./nope"}}), nil, "not an earlier regular file"},
		{"delete the root", rawRootfs(), func(s *FinishSpec) { s.Delete = []string{"/"} }, "names the root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := fx.spec(initrd.InitAgent)
			if c.mutate != nil {
				c.mutate(&spec)
			}
			raw := writeRaw(t, c.entries, time.Unix(0, 0))
			var out bytes.Buffer
			_, err := FinishRootfs(bytes.NewReader(raw), int64(len(raw)), &out, spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written despite the error", out.Len())
			}
		})
	}
}

// A hardlink group whose original name is deleted keeps its content under the names
// that remain.
func TestFinishRootfsHardlinkTargetDeleted(t *testing.T) {
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Unix(0, 0))
	spec := fx.spec(initrd.InitAgent)
	spec.Delete = append(spec.Delete, "/usr/bin/perl", "/usr/bin/aperl")
	out, _ := finish(t, raw, spec)
	_, m := readOut(t, out)
	if e := m["usr/bin/perl5.36"]; e.hdr.Typeflag != tar.TypeReg || e.body != "\x7fELF perl" {
		t.Errorf("perl5.36 = %c %q, want the content of the deleted group leader", e.hdr.Typeflag, e.body)
	}
}

// The initrd packer reads the finished tarball: the rootfs and the initrd of an image
// are the same tree.
func TestFinishedRootfsPacksAsInitrd(t *testing.T) {
	fx := newFinishFixture(t)
	raw := writeRaw(t, rawRootfs(), time.Unix(0, 0))
	out, _ := finish(t, raw, fx.spec(initrd.InitAgent))
	tree, err := initrd.FromTar(bytes.NewReader(out), initrd.Limits{})
	if err != nil {
		t.Fatalf("initrd.FromTar: %v", err)
	}
	if err := initrd.ApplyInit(tree, initrd.InitAgent, nil); err != nil {
		t.Fatal(err)
	}
	resolved, e, err := tree.Resolve("init")
	if err != nil || e.Kind != initrd.KindRegular || resolved != initrd.AgentBinary {
		t.Fatalf("initrd tree's /init resolves to %q %+v (%v), want the agent at /%s", resolved, e, err, initrd.AgentBinary)
	}
}
