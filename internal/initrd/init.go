package initrd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/fstree"
)

// InitMode is how the guest starts the agent (images/*.yaml `init:`).
type InitMode string

const (
	// InitAgent: the agent binary is /init (and /sbin/init), PID 1.
	InitAgent InitMode = "agent"
	// InitSystemd: /init -> /lib/systemd/systemd, the agent runs as a unit
	// wired into the default target (Kata osbuilder's AGENT_INIT=no).
	InitSystemd InitMode = "systemd"
	// InitNone packs the tree as is: no init wiring, no device nodes, no init
	// check (module or microcode overlays, benchmarks).
	InitNone InitMode = "none"
)

// ParseInitMode validates an --init / image `init:` value.
func ParseInitMode(s string) (InitMode, error) {
	switch m := InitMode(s); m {
	case InitAgent, InitSystemd, InitNone:
		return m, nil
	}
	return "", fmt.Errorf("unknown init mode %q: use agent or systemd (or none for a plain archive)", s)
}

// Paths and units the init modes install: Kata's own, because Kata's runtime is
// who boots the guest (kata-containers src/agent/Makefile installs the agent to
// BINDIR=/usr/bin and its units to /usr/lib/systemd/system; the runtime passes
// systemd.unit=kata-containers.target for every image, pkg/katautils/create.go).
const (
	// SystemdPath is what /init points to in systemd mode; on a merged-/usr
	// Debian it resolves through the lib -> usr/lib symlink.
	SystemdPath = "/lib/systemd/systemd"
	// AgentBinary is where the agent goes in both modes.
	AgentBinary = "usr/bin/kata-agent"
	// AgentUnit and GuestTarget are the units systemd mode writes, under
	// SystemUnitDir as Kata's agent Makefile installs them.
	AgentUnit     = "kata-agent.service"
	GuestTarget   = "kata-containers.target"
	SystemUnitDir = "usr/lib/systemd/system"
	unitDir       = "etc/systemd/system"
)

// MaskedUnits are linked to /dev/null in systemd mode: services a guest that
// only runs the agent does not need and that cost seconds per boot (journal
// flushing to disk, waiting for udev to settle, NTP, login prompts), the same
// set Kata's osbuilder disables.
var MaskedUnits = []string{
	"systemd-journal-flush.service",
	"systemd-udev-settle.service",
	"systemd-timesyncd.service",
	"getty.target",
	"getty@.service",
	"serial-getty@.service",
	"console-getty.service",
}

// agentUnitText has the semantics of Kata's kata-agent.service: output to the
// console (the runtime reads it from there), an effectively unlimited number of
// open files, the OOM killer steered away from the agent, and the VM powered off
// when the agent dies or stops: a guest without its agent is useless.
const agentUnitText = `[Unit]
Description=Kata Containers guest agent (built by guestforge)
Documentation=https://github.com/guestforge/guestforge
Wants=` + GuestTarget + `

[Service]
Type=simple
ExecStart=/` + AgentBinary + `
StandardOutput=tty
LimitNOFILE=1073741824
ExecStop=/bin/sync ; /usr/bin/systemctl --force poweroff
FailureAction=poweroff
OOMScoreAdjust=-997
`

// guestTargetText is the target Kata's runtime boots (systemd.unit=): the basic
// system, a private tmpfs on /tmp and the agent, and nothing from
// multi-user.target.
const guestTargetText = `[Unit]
Description=Kata Containers guest (basic system, /tmp and the agent)
Requires=basic.target
Requires=tmp.mount
Wants=chronyd.service
Requires=` + AgentUnit + `
Conflicts=rescue.service rescue.target
After=basic.target rescue.service rescue.target
AllowIsolate=yes
`

// tmpMountText mounts a tmpfs on /tmp. kata-containers.target requires
// tmp.mount and Debian ships the unit only as an example
// (/usr/share/systemd/tmp.mount), so systemd mode installs one when the tree
// has none, as Kata's rootfs.sh does; on a read-only root /tmp needs it anyway.
const tmpMountText = `[Unit]
Description=Temporary Directory /tmp
ConditionPathIsSymbolicLink=!/tmp
DefaultDependencies=no
Conflicts=umount.target
Before=local-fs.target umount.target
After=swap.target

[Mount]
What=tmpfs
Where=/tmp
Type=tmpfs
Options=mode=1777,strictatime,nosuid,nodev,size=50%,nr_inodes=1m
`

// Agent is the agent binary to install: a host file, or bytes in memory.
type Agent struct {
	HostPath string
	Data     []byte
}

// ApplyInit wires mode into t. agent may be nil when the tree already has it
// at /usr/bin/kata-agent;
// Validate then checks it is there.
func ApplyInit(t *Tree, mode InitMode, agent *Agent) error {
	switch mode {
	case InitNone:
		if agent != nil {
			return errors.New("--agent makes no sense with init mode none: use agent or systemd")
		}
		return nil
	case InitAgent:
		// Kata's agent-init images run the agent as /sbin/init, and its
		// initrds start /init -> /sbin/init; the binary stays at
		// /usr/bin/kata-agent, so both modes keep it in the same place.
		if agent != nil {
			if err := addUnder(t, AgentBinary, func(p string) error { return addAgent(t, p, agent) }); err != nil {
				return err
			}
		}
		if err := addUnder(t, "sbin/init", func(p string) error { return t.AddSymlink(p, "/"+AgentBinary) }); err != nil {
			return err
		}
		if err := t.AddSymlink("init", "/sbin/init"); err != nil {
			return err
		}
	case InitSystemd:
		if agent != nil {
			if err := addUnder(t, AgentBinary, func(p string) error { return addAgent(t, p, agent) }); err != nil {
				return err
			}
		}
		if err := t.AddSymlink("init", SystemdPath); err != nil {
			return err
		}
		files := []struct {
			path, text string
		}{
			{SystemUnitDir + "/" + AgentUnit, agentUnitText},
			{SystemUnitDir + "/" + GuestTarget, guestTargetText},
		}
		if !hasUnit(t, "tmp.mount") {
			files = append(files, struct{ path, text string }{unitDir + "/tmp.mount", tmpMountText})
		}
		for _, f := range files {
			if err := addUnder(t, f.path, func(p string) error { return t.AddFile(p, 0o644, []byte(f.text)) }); err != nil {
				return err
			}
		}
		// Kata's runtime names the target on the command line; default.target
		// points at it too, so the image also boots the agent without Kata's
		// parameters (a plain QEMU, a rescue boot). basic.target.wants is
		// Kata's own enablement (rootfs.sh).
		links := map[string]string{
			unitDir + "/default.target":                    "/" + SystemUnitDir + "/" + GuestTarget,
			unitDir + "/basic.target.wants/" + GuestTarget: "/" + SystemUnitDir + "/" + GuestTarget,
		}
		for _, u := range MaskedUnits {
			links[unitDir+"/"+u] = "/dev/null"
		}
		for link, target := range links {
			if err := addUnder(t, link, func(p string) error { return t.AddSymlink(p, target) }); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown init mode %q", mode)
	}
	return addConsoleDevices(t)
}

func addAgent(t *Tree, p string, a *Agent) error {
	if a.HostPath == "" {
		if err := checkAgent(t, "in-memory agent", a.Data, int64(len(a.Data))); err != nil {
			return err
		}
		return t.AddFile(p, 0o755, a.Data)
	}
	st, err := os.Stat(a.HostPath)
	if err != nil {
		return fmt.Errorf("agent binary: %w (pass the built agent with --agent FILE)", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("agent %s is %s, not a regular file: pass the built agent binary", a.HostPath, boundedio.DescribeType(st.Mode()))
	}
	head, err := readHead(a.HostPath)
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.HostPath, err)
	}
	if err := checkAgent(t, "agent "+a.HostPath, head, st.Size()); err != nil {
		return err
	}
	return t.AddHostFile(p, 0o755, a.HostPath, st.Size())
}

// checkAgent refuses agents the guest could never run, before anything is
// packed: an empty file (a failed download or build), and a script whose
// interpreter is not in the tree, which the kernel would fail to exec as PID 1
// with nothing on the console but a panic.
func checkAgent(t *Tree, name string, head []byte, size int64) error {
	if size == 0 {
		return fmt.Errorf("%s is empty: pass the built agent binary", name)
	}
	if !bytes.HasPrefix(head, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return fmt.Errorf("%s starts with #! but names no interpreter: fix its first line or pass the built agent binary", name)
	}
	interp := fields[0]
	if !path.IsAbs(interp) {
		return fmt.Errorf("%s is a script for %q, a relative path the kernel resolves against an unknown directory: use an absolute interpreter path", name, interp)
	}
	if _, e, err := t.Resolve(strings.TrimPrefix(interp, "/")); err != nil || e.Kind != KindRegular {
		return fmt.Errorf("%s is a script for %s, which is not in the tree being packed: add %s to the tree or pass the built agent binary", name, interp, interp)
	}
	return nil
}

// readHead returns the start of a file: enough for a #! line, which Linux
// caps (BINPRM_BUF_SIZE) at 256 bytes.
func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// addUnder adds an entry at p, or where p lands when a parent is a symlink
// in the tree (merged /usr: sbin -> usr/sbin), as the guest kernel would
// when it unpacked the archive.
func addUnder(t *Tree, p string, add func(string) error) error {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return add(p)
	}
	resolved, e, err := t.Resolve(dir)
	switch {
	case err == nil && e.Kind == KindDir:
		return add(path.Join(resolved, base))
	case err == nil:
		return fmt.Errorf("cannot add %s: %s is a %s", p, resolved, e.Kind)
	case errors.Is(err, fstree.ErrNotFound):
		// Missing parents are created as directories where the guest would
		// look for them (behind a dangling link, at the link's target).
		return add(path.Join(resolved, base))
	}
	return err
}

// addConsoleDevices adds the two nodes the kernel and PID 1 need before
// devtmpfs is mounted: /dev/console (the kernel opens it for init's stdio)
// and /dev/null. Existing nodes from the rootfs are kept.
func addConsoleDevices(t *Tree) error {
	nodes := []struct {
		path         string
		major, minor uint32
		perm         uint32
	}{
		{"dev/console", 5, 1, 0o600},
		{"dev/null", 1, 3, 0o666},
	}
	for _, n := range nodes {
		if e, ok := t.Lookup(n.path); ok && e.Kind == KindCharDev && e.Major == n.major && e.Minor == n.minor {
			continue
		}
		if err := addUnder(t, n.path, func(p string) error { return t.AddDevice(p, KindCharDev, n.major, n.minor, n.perm) }); err != nil {
			return err
		}
	}
	return nil
}

// checkInit is the init half of Validate.
func checkInit(t *Tree, mode InitMode) error {
	switch mode {
	case InitNone:
		return nil
	case InitAgent:
		if err := checkExecutable(t, "init", "agent mode boots /init -> /sbin/init -> /"+AgentBinary+": pass --agent FILE"); err != nil {
			return err
		}
		return checkExecutable(t, "sbin/init", "agent mode boots a disk image through /sbin/init -> /"+AgentBinary+": pass --agent FILE")
	case InitSystemd:
		if err := checkExecutable(t, "init", "systemd mode runs /init -> "+SystemdPath+": the rootfs must contain systemd (Debian packages systemd, systemd-sysv)"); err != nil {
			return err
		}
		return checkExecutable(t, AgentBinary, "systemd mode runs the agent from /"+AgentBinary+" (kata-agent.service): pass --agent FILE")
	}
	return fmt.Errorf("unknown init mode %q", mode)
}

func checkExecutable(t *Tree, p, hint string) error {
	resolved, e, err := t.Resolve(p)
	if err != nil {
		return fmt.Errorf("/%s is missing (%v); %s", p, err, hint)
	}
	if e.Kind != KindRegular {
		return fmt.Errorf("/%s resolves to /%s, a %s, not an executable file; %s", p, resolved, e.Kind, hint)
	}
	if e.Perm&0o111 == 0 {
		return fmt.Errorf("/%s (/%s) is not executable (mode %04o); chmod +x it", p, resolved, e.Perm)
	}
	return nil
}

// hasUnit says whether the tree already has a unit of that name where systemd
// loads units from (the admin's directory or the vendor's).
func hasUnit(t *Tree, name string) bool {
	for _, dir := range []string{unitDir, SystemUnitDir, "lib/systemd/system"} {
		if _, _, err := t.Resolve(dir + "/" + name); err == nil {
			return true
		}
	}
	return false
}
