//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/guestforge/guestforge/internal/arch"
)

// Markers the boot harness (internal/boot) scans the console for.
const (
	okMarker   = "GUESTFORGE-BOOT-OK"
	failMarker = "GUESTFORGE-BOOT-FAIL"
)

func main() {
	// PID 1 means the kernel started us directly (agent mode); otherwise a
	// service manager did, and in a guestforge guest that is systemd.
	mode := "systemd"
	if os.Getpid() == 1 {
		mode = "agent"
	}
	line, err := probe(mode)
	if err != nil {
		line = fmt.Sprintf("%s init=%s error=%q", failMarker, mode, err.Error())
	}
	report(line)
	unix.Sync()
	err = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Still running: the power-off failed. PID 1 must not exit (the kernel
	// would panic and hide the reason), so say why and wait to be killed.
	report(fmt.Sprintf("%s init=%s error=%q", failMarker, mode, "power off: "+errString(err)))
	if os.Getpid() == 1 {
		for {
			time.Sleep(time.Hour)
		}
	}
	os.Exit(1)
}

func probe(mode string) (string, error) {
	if err := mountAll(); err != nil {
		return "", err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	a, err := arch.Host()
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("%s init=%s kernel=%s arch=%s", okMarker, mode, unix.ByteSliceToString(u.Release[:]), a.Name)
	// What the launch looked like from inside, so boot tests assert Kata's
	// conventions on what the guest saw, not only on what the host passed.
	return line + " " + launchFacts(), nil
}

// launchFacts reports the console the kernel chose, the root filesystem's
// device, type and DAX state, and (under systemd) the unit running the
// probe: "console=hvc0 root=vda1 fstype=ext4 dax=0 unit=kata-agent.service".
// A fact that cannot be read is "?" rather than an error: the probe's job is
// to report, the test decides what matters.
func launchFacts() string {
	console := "?"
	if b, err := os.ReadFile("/sys/class/tty/console/active"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			console = strings.Join(f, ",")
		}
	}
	root, fstype, dax := rootMount()
	facts := fmt.Sprintf("console=%s root=%s fstype=%s dax=%s", console, root, fstype, dax)
	if os.Getpid() != 1 {
		facts += " unit=" + systemdUnit()
	}
	return facts
}

// rootMount reads / from mountinfo: the block device by its kernel name
// (mountinfo says /dev/root for a root= mount, so the name comes from
// /sys/dev/block/MAJ:MIN), the filesystem type and whether DAX is on.
func rootMount() (device, fstype, dax string) {
	device, fstype, dax = "?", "?", "?"
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		if len(f) < 10 || f[4] != "/" {
			continue
		}
		sep := slices.Index(f, "-")
		if sep < 0 || sep+3 >= len(f) {
			continue
		}
		fstype = f[sep+1]
		device = f[sep+2]
		if uevent, err := os.ReadFile("/sys/dev/block/" + f[2] + "/uevent"); err == nil {
			for _, kv := range strings.Split(string(uevent), "\n") {
				if name, ok := strings.CutPrefix(kv, "DEVNAME="); ok {
					device = name
				}
			}
		}
		dax = "0"
		for _, o := range strings.Split(f[sep+3]+","+f[5], ",") {
			if o == "dax" || o == "dax=always" {
				dax = "1"
			}
		}
		// The last / in mountinfo is the one in effect.
	}
	return
}

// systemdUnit is the unit whose cgroup the probe runs in (cgroup v2:
// "0::/system.slice/kata-agent.service").
func systemdUnit() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if _, p, ok := strings.Cut(line, "::"); ok {
			return path.Base(p)
		}
	}
	return "?"
}

// mountAll mounts what an agent needs. Under systemd they are mounted
// already; EBUSY means exactly that and is fine.
func mountAll() error {
	mounts := []struct {
		src, dir, fstype string
		flags            uintptr
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.dir, err)
		}
		err := unix.Mount(m.src, m.dir, m.fstype, m.flags, "")
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// report writes line to the console and, when stdout is something else
// (the journal, under systemd), to stdout too.
func report(line string) {
	msg := "\n" + line + "\n"
	console, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0)
	if err == nil {
		defer console.Close()
		_, _ = console.WriteString(msg)
		if sameFile(console, os.Stdout) {
			return
		}
	}
	_, _ = os.Stdout.WriteString(msg)
}

func sameFile(a, b *os.File) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(int(a.Fd()), &sa) != nil || unix.Fstat(int(b.Fd()), &sb) != nil {
		return false
	}
	// The kernel opened init's stdio on the initrd's /dev/console node, we
	// opened devtmpfs's: different inodes, same device number.
	if sa.Mode&unix.S_IFMT == unix.S_IFCHR && sb.Mode&unix.S_IFMT == unix.S_IFCHR {
		return sa.Rdev == sb.Rdev
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func errString(err error) string {
	if err == nil {
		return "reboot returned without error"
	}
	return err.Error()
}
