package initrd

import (
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

// systemdTree is a merged-/usr Debian shape with a (fake, script) systemd.
func systemdTree(t *testing.T) *Tree {
	t.Helper()
	tree := NewTree()
	must(t, tree.AddSymlink("lib", "usr/lib"))
	must(t, tree.AddSymlink("sbin", "usr/sbin"))
	must(t, tree.AddSymlink("bin", "usr/bin"))
	must(t, tree.AddDir("usr/sbin", 0o755))
	must(t, tree.AddDir("usr/bin", 0o755))
	must(t, tree.AddFile("usr/lib/systemd/systemd", 0o755, []byte("#!/bin/sh\n")))
	must(t, tree.AddSymlink("usr/sbin/init", "../lib/systemd/systemd"))
	must(t, tree.AddDir("etc/systemd/system", 0o755))
	return tree
}

func entryMap(tree *Tree) map[string]string {
	m := map[string]string{}
	for _, e := range tree.Entries() {
		switch e.Kind {
		case KindSymlink:
			m[e.Path] = "-> " + e.Linkname
		case KindCharDev:
			m[e.Path] = "c " + string(rune('0'+e.Major)) + "," + string(rune('0'+e.Minor))
		case KindRegular:
			m[e.Path] = "file"
		case KindDir:
			m[e.Path] = "dir"
		}
	}
	return m
}

func TestAgentModeEmptyTree(t *testing.T) {
	tree := NewTree()
	must(t, ApplyInit(tree, InitAgent, &Agent{Data: []byte("agent")}))
	want := map[string]string{
		"init":               "-> /sbin/init",
		"sbin":               "dir",
		"sbin/init":          "-> /usr/bin/kata-agent",
		"usr":                "dir",
		"usr/bin":            "dir",
		"usr/bin/kata-agent": "file",
		"dev":                "dir",
		"dev/console":        "c 5,1",
		"dev/null":           "c 1,3",
	}
	if got := entryMap(tree); !maps.Equal(got, want) {
		t.Fatalf("tree = %v\nwant %v", got, want)
	}
	e, _ := tree.Lookup(AgentBinary)
	if e.Perm != 0o755 {
		t.Fatalf("/%s mode %04o", AgentBinary, e.Perm)
	}
	if err := Validate(tree, x86, InitAgent, Limits{}); err != nil {
		t.Fatal(err)
	}
}

// TestAgentModeMergedUsr: /sbin is a symlink in Debian; /sbin/init must land
// where the guest looks it up (usr/sbin/init), replacing systemd's link, and
// lead to the agent at Kata's path, as /init does.
func TestAgentModeMergedUsr(t *testing.T) {
	tree := systemdTree(t)
	must(t, ApplyInit(tree, InitAgent, &Agent{Data: []byte("agent")}))
	got := entryMap(tree)
	if got["usr/sbin/init"] != "-> /usr/bin/kata-agent" || got["sbin"] != "-> usr/sbin" || got["init"] != "-> /sbin/init" {
		t.Fatalf("tree = %v", got)
	}
	for _, p := range []string{"sbin/init", "init"} {
		resolved, e, err := tree.Resolve(p)
		if err != nil || resolved != "usr/bin/kata-agent" || e.Kind != KindRegular {
			t.Fatalf("%s resolves to %s %+v %v", p, resolved, e, err)
		}
	}
}

func TestSystemdMode(t *testing.T) {
	tree := systemdTree(t)
	must(t, ApplyInit(tree, InitSystemd, &Agent{Data: []byte("agent")}))
	if err := Validate(tree, x86, InitSystemd, Limits{}); err != nil {
		t.Fatal(err)
	}
	got := entryMap(tree)
	want := map[string]string{
		"init":               "-> /lib/systemd/systemd",
		"usr/bin/kata-agent": "file",
		"usr/lib/systemd/system/kata-agent.service":                    "file",
		"usr/lib/systemd/system/kata-containers.target":                "file",
		"etc/systemd/system/tmp.mount":                                 "file",
		"etc/systemd/system/default.target":                            "-> /usr/lib/systemd/system/kata-containers.target",
		"etc/systemd/system/basic.target.wants/kata-containers.target": "-> /usr/lib/systemd/system/kata-containers.target",
		"usr/sbin/init": "-> ../lib/systemd/systemd",
	}
	for _, u := range MaskedUnits {
		want["etc/systemd/system/"+u] = "-> /dev/null"
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s = %q, want %q", p, got[p], w)
		}
	}
	for _, u := range []string{"systemd-journal-flush.service", "systemd-udev-settle.service", "systemd-timesyncd.service", "getty.target"} {
		if !slices.Contains(MaskedUnits, u) {
			t.Errorf("%s is not masked", u)
		}
	}
	// Kata's semantics (src/agent/kata-agent.service.in, kata-containers.target):
	// the lines that change how the guest behaves.
	for unit, lines := range map[string][]string{
		"usr/lib/systemd/system/kata-agent.service": {"ExecStart=/usr/bin/kata-agent", "FailureAction=poweroff",
			"OOMScoreAdjust=-997", "LimitNOFILE=1073741824", "StandardOutput=tty", "Wants=kata-containers.target"},
		"usr/lib/systemd/system/kata-containers.target": {"Requires=basic.target", "Requires=tmp.mount",
			"Requires=kata-agent.service", "AllowIsolate=yes"},
		"etc/systemd/system/tmp.mount": {"Where=/tmp", "Type=tmpfs"},
	} {
		e, ok := tree.Lookup(unit)
		if !ok {
			t.Fatalf("%s missing", unit)
		}
		rc, err := e.Open()
		must(t, err)
		text, _ := io.ReadAll(rc)
		for _, line := range lines {
			if !strings.Contains(string(text), line+"\n") {
				t.Errorf("%s lacks %q:\n%s", unit, line, text)
			}
		}
	}

	// A tree that ships tmp.mount keeps its own.
	own := systemdTree(t)
	must(t, own.AddFile("usr/lib/systemd/system/tmp.mount", 0o644, []byte("[Mount]\nWhere=/tmp\n")))
	must(t, ApplyInit(own, InitSystemd, &Agent{Data: []byte("agent")}))
	if _, ok := own.Lookup("etc/systemd/system/tmp.mount"); ok {
		t.Error("ApplyInit wrote etc/systemd/system/tmp.mount over a tree that has one")
	}

	// Without systemd in the tree, the error says which package is missing.
	bare := NewTree()
	must(t, ApplyInit(bare, InitSystemd, &Agent{Data: []byte("agent")}))
	problems := validationProblems(t, Validate(bare, x86, InitSystemd, Limits{}))
	if len(problems) != 1 || !strings.Contains(problems[0], "the rootfs must contain systemd (Debian packages systemd, systemd-sysv)") {
		t.Fatalf("problems = %q", problems)
	}
}

func TestResolve(t *testing.T) {
	tree := systemdTree(t)
	must(t, tree.AddSymlink("loop1", "loop2"))
	must(t, tree.AddSymlink("loop2", "/loop1"))
	must(t, tree.AddSymlink("up", "../../../../usr"))
	for _, c := range []struct{ in, want, err string }{
		{"sbin/init", "usr/lib/systemd/systemd", ""},
		{"/lib/systemd/systemd", "usr/lib/systemd/systemd", ""},
		{"up/lib/systemd/systemd", "usr/lib/systemd/systemd", ""}, // ".." stops at the root, as in the kernel
		{"lib/missing/x", "usr/lib/missing/x", "not in the tree"},
		{"loop1", "", "more than 40 symlinks"},
		{"usr/lib/systemd/systemd/x", "", "not a directory"},
	} {
		got, _, err := tree.Resolve(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Resolve(%s) err = %v, want %q", c.in, err, c.err)
			}
			if c.want != "" && got != c.want {
				t.Errorf("Resolve(%s) = %s, want %s", c.in, got, c.want)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Resolve(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"agent", "systemd", "none"} {
		if _, err := ParseInitMode(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseInitMode("sysvinit"); err == nil || !strings.Contains(err.Error(), "use agent or systemd") {
		t.Errorf("err = %v", err)
	}
	if _, err := ParseCompression("xz"); err == nil {
		t.Error("xz accepted")
	}
	o, err := ParseOwner("/home/agent=1000:1001")
	if err != nil || o != (Owner{Path: "home/agent", UID: 1000, GID: 1001}) {
		t.Errorf("ParseOwner = %+v, %v", o, err)
	}
	for _, bad := range []string{"/x", "/x=1000", "/x=a:b", "/x=1:2:3", "../x=1:1"} {
		if _, err := ParseOwner(bad); err == nil {
			t.Errorf("ParseOwner(%q) accepted", bad)
		}
	}
	os, err := OwnersFromImage(map[string]string{"/b": "2:2", "/a": "1:1"})
	if err != nil || len(os) != 2 || os[0].Path != "a" {
		t.Errorf("OwnersFromImage = %+v, %v", os, err)
	}
}
