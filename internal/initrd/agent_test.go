package initrd

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestAgentRefusedBeforePacking: an agent the guest cannot run as PID 1 (empty,
// a script without its interpreter in the tree, not a file at all) is an error
// naming the agent, not a kernel panic at boot.
func TestAgentRefusedBeforePacking(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(content), 0o755))
		return p
	}
	empty := write("empty", "")
	shScript := write("sh-agent", "#!/bin/sh\nexec /usr/bin/real-agent\n")
	envScript := write("env-agent", "#!  /usr/bin/env python3 -u\nprint(1)\n")
	noInterp := write("bare-shebang", "#!\n")
	relative := write("relative", "#!sh\n")
	binary := write("elf-ish", "\x7fELF not really")
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o644))
	sub := filepath.Join(dir, "a-directory")
	must(t, os.Mkdir(sub, 0o755))

	withSh := func() *Tree {
		tr := NewTree()
		must(t, tr.AddSymlink("bin", "usr/bin"))
		must(t, tr.AddFile("usr/bin/dash", 0o755, []byte("\x7fELF")))
		must(t, tr.AddSymlink("usr/bin/sh", "dash"))
		return tr
	}
	for _, c := range []struct {
		name  string
		tree  func() *Tree
		agent *Agent
		mode  InitMode
		want  string // "" means accepted
	}{
		{"empty file", NewTree, &Agent{HostPath: empty}, InitAgent, "agent " + empty + " is empty: pass the built agent binary"},
		{"empty in-memory", NewTree, &Agent{Data: nil}, InitSystemd, "in-memory agent is empty: pass the built agent binary"},
		{"script, no /bin/sh in the tree", NewTree, &Agent{HostPath: shScript}, InitAgent,
			"agent " + shScript + " is a script for /bin/sh, which is not in the tree being packed: add /bin/sh to the tree or pass the built agent binary"},
		{"script, /bin/sh through merged /usr links", withSh, &Agent{HostPath: shScript}, InitAgent, ""},
		{"env script, no env", withSh, &Agent{HostPath: envScript}, InitAgent,
			"agent " + envScript + " is a script for /usr/bin/env, which is not in the tree being packed: add /usr/bin/env to the tree or pass the built agent binary"},
		{"in-memory script, systemd mode", NewTree, &Agent{Data: []byte("#!/bin/bash\n")}, InitSystemd,
			"in-memory agent is a script for /bin/bash, which is not in the tree being packed"},
		{"#! and nothing", NewTree, &Agent{HostPath: noInterp}, InitAgent,
			"agent " + noInterp + " starts with #! but names no interpreter: fix its first line or pass the built agent binary"},
		{"relative interpreter", withSh, &Agent{HostPath: relative}, InitAgent, `agent ` + relative + ` is a script for "sh", a relative path`},
		{"binary", NewTree, &Agent{HostPath: binary}, InitAgent, ""},
		{"FIFO", NewTree, &Agent{HostPath: fifo}, InitAgent, "agent " + fifo + " is a FIFO, not a regular file: pass the built agent binary"},
		{"directory", NewTree, &Agent{HostPath: sub}, InitAgent, "agent " + sub + " is a directory, not a regular file: pass the built agent binary"},
		{"character device", NewTree, &Agent{HostPath: "/dev/null"}, InitAgent, "agent /dev/null is a character device, not a regular file: pass the built agent binary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ApplyInit(c.tree(), c.mode, c.agent)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "":
			case err == nil:
				t.Fatalf("accepted; want %q", c.want)
			case len(err.Error()) < len(c.want) || err.Error()[:len(c.want)] != c.want:
				t.Fatalf("error %q\nwant it to start with %q", err, c.want)
			}
		})
	}
}
