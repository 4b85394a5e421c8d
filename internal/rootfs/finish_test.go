package rootfs

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
	"github.com/guestforge/guestforge/internal/rootfs/rootfstest"
)

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

// fixtureSpec is the finishing spec of the fixture image for mode.
func fixtureSpec(f rootfstest.Fixture, mode initrd.InitMode) Spec {
	return Spec{
		Image: "default", ImageFile: "images/default.yaml", Arch: arch.MustParse("x86_64"), Init: mode,
		Epoch: 1767225600, Delete: []string{"/usr/share/doc", "/usr/share/man"},
		Overlay: f.Overlay, Agent: f.Agent,
	}
}

func finish(t *testing.T, raw []byte, spec Spec) ([]byte, Stats) {
	t.Helper()
	var out bytes.Buffer
	st, err := Finish(bytes.NewReader(raw), int64(len(raw)), &out, spec)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return out.Bytes(), st
}

func TestFinishRootfsAgentMode(t *testing.T) {
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	out, st := finish(t, raw, fixtureSpec(fx, initrd.InitAgent))
	names, m := readOut(t, out)

	var paths []string
	for _, n := range names[1:] {
		paths = append(paths, strings.TrimSuffix(strings.TrimPrefix(n, "./"), "/"))
	}
	if !slices.IsSortedFunc(paths, ComparePaths) {
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
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Unix(0, 0))
	out, _ := finish(t, raw, fixtureSpec(fx, initrd.InitSystemd))
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
	fx := rootfstest.NewFixture(t)
	entries := rootfstest.Raw()
	a, _ := finish(t, rootfstest.WriteRaw(t, entries, time.Unix(1, 0)), fixtureSpec(fx, initrd.InitAgent))

	shuffled := slices.Clone(entries)
	r := rand.New(rand.NewPCG(1, 2))
	// Keep hardlinks after their target (a tar requirement), shuffle the rest.
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortStableFunc(shuffled, func(x, y rootfstest.Member) int {
		rank := func(e rootfstest.Member) int {
			if e.Hdr.Typeflag == tar.TypeLink {
				return 1
			}
			return 0
		}
		return rank(x) - rank(y)
	})
	b, _ := finish(t, rootfstest.WriteRaw(t, shuffled, time.Now()), fixtureSpec(fx, initrd.InitAgent))
	if ha, hb := sha(a), sha(b); ha != hb {
		t.Fatalf("two finishes of the same content differ: %s vs %s", ha, hb)
	}
	// And the content does reach it.
	other := fixtureSpec(fx, initrd.InitAgent)
	other.Delete = nil
	c, _ := finish(t, rootfstest.WriteRaw(t, entries, time.Unix(1, 0)), other)
	if sha(a) == sha(c) {
		t.Fatal("a different delete: list gave the same tarball")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFinishRootfsBudget(t *testing.T) {
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Unix(0, 0))
	spec := fixtureSpec(fx, initrd.InitAgent)
	spec.Budget, spec.BudgetBytes = "64B", 64
	var out bytes.Buffer
	_, err := Finish(bytes.NewReader(raw), int64(len(raw)), &out, spec)
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
	fx := rootfstest.NewFixture(t)
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
		entries []rootfstest.Member
		mutate  func(*Spec)
		want    string
	}{
		{"no agent", rootfstest.Raw(), func(s *Spec) { s.Agent = "" }, "no agent binary"},
		{"agent missing on disk", rootfstest.Raw(), func(s *Spec) { s.Agent = "/nonexistent/agent" }, "agent binary"},
		{"empty agent", rootfstest.Raw(), func(s *Spec) { s.Agent = emptyAgent }, "agent " + emptyAgent + " is empty: pass the built agent binary"},
		{"script agent without its interpreter", rootfstest.Raw(), func(s *Spec) { s.Agent = scriptAgent },
			"agent " + scriptAgent + " is a script for /usr/bin/python3, which is not in the tree being packed"},
		{"FIFO agent", rootfstest.Raw(), func(s *Spec) { s.Agent = fifoAgent }, "agent " + fifoAgent + " is a FIFO, not a regular file"},
		{"escaping member", append(rootfstest.Raw(), rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeReg, Name: "./../evil", Mode: 0o644}}), nil, "leaves the rootfs"},
		{"dangling hardlink", append(rootfstest.Raw(), rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeLink, Name: "./x", Linkname: "./nope"}}), nil, "not an earlier regular file"},
		{"delete the root", rootfstest.Raw(), func(s *Spec) { s.Delete = []string{"/"} }, "names the root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := fixtureSpec(fx, initrd.InitAgent)
			if c.mutate != nil {
				c.mutate(&spec)
			}
			raw := rootfstest.WriteRaw(t, c.entries, time.Unix(0, 0))
			var out bytes.Buffer
			_, err := Finish(bytes.NewReader(raw), int64(len(raw)), &out, spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written despite the error", out.Len())
			}
		})
	}
}

// The raw tarball and the overlay are inputs from elsewhere: each is bounded in
// entries, and finishing says which bound was hit.
func TestFinishRootfsBoundsEntries(t *testing.T) {
	defer func(n int) { maxEntries = n }(maxEntries)
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Unix(0, 0))
	maxEntries = len(rootfstest.Raw()) - 1
	var out bytes.Buffer
	if _, err := Finish(bytes.NewReader(raw), int64(len(raw)), &out, fixtureSpec(fx, initrd.InitAgent)); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("more than %d members", maxEntries)) {
		t.Errorf("raw tarball over the bound: err = %v", err)
	}
	// The fixture's overlay has 6 names (etc, etc/hostname, lib, lib/systemd,
	// lib/systemd/system, its unit); the tarball fits.
	maxEntries = len(rootfstest.Raw())
	if _, err := Finish(bytes.NewReader(raw), int64(len(raw)), &out, fixtureSpec(fx, initrd.InitAgent)); err != nil {
		t.Fatalf("within the bound: %v", err)
	}
	maxEntries = 5
	empty := rootfstest.WriteRaw(t, nil, time.Unix(0, 0))
	if _, err := Finish(bytes.NewReader(empty), int64(len(empty)), &out, fixtureSpec(fx, initrd.InitAgent)); err == nil ||
		!strings.Contains(err.Error(), "overlay") || !strings.Contains(err.Error(), "more than 5 files") {
		t.Errorf("overlay over the bound: err = %v", err)
	}
}

// A hardlink group whose original name is deleted keeps its content under the names
// that remain.
func TestFinishRootfsHardlinkTargetDeleted(t *testing.T) {
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Unix(0, 0))
	spec := fixtureSpec(fx, initrd.InitAgent)
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
	fx := rootfstest.NewFixture(t)
	raw := rootfstest.WriteRaw(t, rootfstest.Raw(), time.Unix(0, 0))
	out, _ := finish(t, raw, fixtureSpec(fx, initrd.InitAgent))
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
