package boot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
)

// Config is one boot. Kernel is required; Initrd and Disk are optional.
type Config struct {
	Arch   arch.Arch
	Kernel string
	Initrd string
	// Disk is attached as a raw virtio block device (the machine's virtio
	// transport: PCI, or CCW on s390x).
	Disk string
	// Append is added to the kernel command line after console= and panic=.
	Append string
	// Marker is the console text that means success (default OKMarker).
	Marker string
	// Timeout bounds the whole boot (default 4 minutes, TCG is slow).
	Timeout time.Duration
	// Log receives every console line as it arrives (optional).
	Log io.Writer

	// MemoryMiB is the guest RAM (default 1024: the kernel unpacks the whole
	// initrd into it).
	MemoryMiB int
	// ExtraArgs are appended to the QEMU command line.
	ExtraArgs []string

	// Launch, when set, replaces the harness's own machine, memory, console,
	// disk and command line with a VMM's (Kata's runtime: internal/kata builds
	// it), so a boot test launches the guest exactly as that VMM would;
	// Disk and Append must then be empty.
	Launch *Launch
}

// Launch is a VMM's part of the QEMU command line.
type Launch struct {
	// Machine is the -machine value (type and options).
	Machine string
	// Memory is the -m value.
	Memory string
	// Devices are the VMM's -device/-object/-drive/-chardev/-serial arguments;
	// the console among them must be on stdio, which the harness reads.
	Devices []string
	// Cmdline is the whole kernel command line, used as it is.
	Cmdline string
}

// Result is a successful boot.
type Result struct {
	// Line is the console line holding the marker.
	Line string
	// Console is everything the guest printed.
	Console string
	// Duration is the time from QEMU's start to the marker.
	Duration time.Duration
	// PoweredOff says QEMU exited by itself after the marker (the probe
	// powers the VM off; a real agent keeps it running and is killed).
	PoweredOff bool
}

const (
	defaultTimeout = 4 * time.Minute
	defaultMemory  = 1024
	// exitGrace is how long the guest gets to power off after the marker.
	exitGrace = 30 * time.Second
	// tailLines is how much console an error quotes.
	tailLines = 40
)

// failPatterns end a boot early: nothing good follows them.
var failPatterns = []string{FailMarker, "Kernel panic - not syncing", "---[ end Kernel panic"}

// Args is the QEMU command line for cfg (without the binary), exported so
// `release verify` can print what it runs.
func Args(cfg Config) []string {
	if cfg.Launch != nil {
		return launchArgs(cfg)
	}
	mem := cfg.MemoryMiB
	if mem <= 0 {
		mem = defaultMemory
	}
	a := cfg.Arch
	args := []string{
		"-machine", a.QEMUMachine,
		"-cpu", a.QEMUCPU,
		"-m", fmt.Sprint(mem),
		"-smp", "1",
		"-nographic", "-no-reboot", "-no-user-config",
		// No NIC: user networking costs boot time and nothing here needs it.
		"-nic", "none",
		"-accel", "tcg",
		"-kernel", cfg.Kernel,
	}
	if cfg.Initrd != "" {
		args = append(args, "-initrd", cfg.Initrd)
	}
	if cfg.Disk != "" {
		// if=virtio picks the machine's own virtio transport (virtio-blk-pci,
		// or virtio-blk-ccw on s390x) without a per-arch device name.
		args = append(args, "-drive", "file="+cfg.Disk+",format=raw,if=virtio")
	}
	// panic=-1: reboot at once on a panic, which -no-reboot turns into a
	// QEMU exit, so a broken guest fails in seconds instead of at the timeout.
	cmdline := "console=" + a.Console + " panic=-1"
	if cfg.Append != "" {
		cmdline += " " + cfg.Append
	}
	args = append(args, "-append", cmdline)
	return append(args, cfg.ExtraArgs...)
}

// launchArgs is the command line of a boot under a VMM's Launch: its machine,
// memory, devices and kernel command line, with only what TCG and a test need
// around them. -nographic would put a serial port and the monitor on stdio,
// which the VMM's console chardev claims, so the display is off instead and
// no default serial port or monitor is made unless the VMM asks for a serial.
func launchArgs(cfg Config) []string {
	l := cfg.Launch
	args := []string{
		"-machine", l.Machine,
		"-cpu", cfg.Arch.QEMUCPU,
		"-m", l.Memory,
		"-smp", "1",
		"-display", "none", "-monitor", "none",
		"-no-reboot", "-no-user-config", "-nodefaults",
		"-nic", "none",
		"-accel", "tcg",
		"-kernel", cfg.Kernel,
	}
	if !slices.Contains(l.Devices, "-serial") {
		args = append(args, "-serial", "none")
	}
	if cfg.Initrd != "" {
		args = append(args, "-initrd", cfg.Initrd)
	}
	args = append(args, l.Devices...)
	args = append(args, "-append", l.Cmdline)
	return append(args, cfg.ExtraArgs...)
}

// Run boots cfg under QEMU and waits for the marker on the serial console.
// On timeout, an early QEMU exit or a kernel panic it kills QEMU and returns
// an error quoting the end of the console.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Arch.QEMUSystem == "" {
		return Result{}, errors.New("boot: Config.Arch is not set (use arch.Parse)")
	}
	if cfg.Launch != nil && (cfg.Disk != "" || cfg.Append != "") {
		return Result{}, errors.New("boot: Config.Launch carries the devices and the command line: leave Disk and Append empty")
	}
	for _, f := range []struct{ what, path string }{{"kernel", cfg.Kernel}, {"initrd", cfg.Initrd}, {"disk", cfg.Disk}} {
		if f.path == "" {
			if f.what == "kernel" {
				return Result{}, errors.New("boot: Config.Kernel is required")
			}
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return Result{}, fmt.Errorf("boot: %s: %w", f.what, err)
		}
	}
	qemu, err := exec.LookPath(cfg.Arch.QEMUSystem)
	if err != nil {
		return Result{}, fmt.Errorf("boot: %s not on PATH: install the Debian package that provides it (hack/deps.sh)", cfg.Arch.QEMUSystem)
	}
	marker := cfg.Marker
	if marker == "" {
		marker = OKMarker
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	args := Args(cfg)
	cmd := exec.CommandContext(ctx, qemu, args...)
	// Our own pipe (not StdoutPipe) so Wait can run while the console is
	// still being read, and a process group so a kill reaches everything
	// QEMU (or a wrapper script) started.
	pr, pw, err := os.Pipe()
	if err != nil {
		return Result{}, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw // QEMU's own warnings belong in the console log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	slog.Debug("boot", "qemu", qemu, "args", strings.Join(args, " "))
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return Result{}, fmt.Errorf("boot: start %s: %w", qemu, err)
	}
	stdout := pr

	var console strings.Builder
	type event struct {
		line    string
		fail    bool
		elapsed time.Duration
	}
	found := make(chan event, 1)
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			console.WriteString(line + "\n")
			if cfg.Log != nil {
				fmt.Fprintln(cfg.Log, line)
			}
			if sent {
				continue
			}
			if strings.Contains(line, marker) {
				found <- event{line: line, elapsed: time.Since(start)}
				sent = true
				continue
			}
			for _, p := range failPatterns {
				if strings.Contains(line, p) {
					found <- event{line: line, fail: true, elapsed: time.Since(start)}
					sent = true
					break
				}
			}
		}
		// Drain the pipe if the scanner stopped on an overlong line.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		// Leftover children would keep the console pipe open.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		exited <- err
	}()
	// scanned waits until the scanner has read everything; the console is
	// only read after that. A writer that outlives QEMU is cut off.
	scanned := func() {
		select {
		case <-scanDone:
		case <-time.After(2 * time.Second):
			pr.Close()
			<-scanDone
		}
	}
	tail := func() string {
		scanned()
		return lastLines(console.String(), tailLines)
	}
	kill := func() {
		cancel()
		<-exited
	}

	onMarker := func(ev event, alreadyExited bool) (Result, error) {
		if ev.fail {
			// Let the guest finish printing the panic, then stop it.
			if !alreadyExited {
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					kill()
				}
			}
			return Result{}, fmt.Errorf("boot %s: guest failed after %s: %q\n--- console tail ---\n%s", cfg.Arch.Name, ev.elapsed.Round(time.Millisecond), ev.line, tail())
		}
		res := Result{Line: ev.line, Duration: ev.elapsed, PoweredOff: alreadyExited}
		if !alreadyExited {
			select {
			case <-exited:
				res.PoweredOff = true
			case <-time.After(exitGrace):
				slog.Warn("boot: guest did not power off after the marker; killing QEMU", "arch", cfg.Arch.Name, "grace", exitGrace)
				kill()
			}
		}
		scanned()
		res.Console = console.String()
		return res, nil
	}

	select {
	case ev := <-found:
		return onMarker(ev, false)
	case err := <-exited:
		// The marker line may have been the guest's last words, still in
		// the pipe when QEMU exited.
		scanned()
		select {
		case ev := <-found:
			return onMarker(ev, true)
		default:
		}
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("boot %s: no %q within %s: %w\n--- console tail ---\n%s", cfg.Arch.Name, marker, timeout, ctx.Err(), tail())
		}
		return Result{}, fmt.Errorf("boot %s: QEMU exited (%v) after %s without printing %q\n--- console tail ---\n%s", cfg.Arch.Name, err, time.Since(start).Round(time.Millisecond), marker, tail())
	case <-ctx.Done():
		kill()
		return Result{}, fmt.Errorf("boot %s: no %q within %s (%w); QEMU killed\n--- console tail ---\n%s", cfg.Arch.Name, marker, timeout, ctx.Err(), tail())
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
