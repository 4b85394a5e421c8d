//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
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
	return fmt.Sprintf("%s init=%s kernel=%s arch=%s", okMarker, mode, unix.ByteSliceToString(u.Release[:]), a.Name), nil
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
