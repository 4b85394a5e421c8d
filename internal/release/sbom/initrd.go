package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/guestforge/guestforge/internal/initrd"
)

// Contents is what an SBOM needs from a guest root filesystem.
type Contents struct {
	// Status is /var/lib/dpkg/status.
	Status []byte
	// Agent is the agent binary: the ExecStart= program of a *agent*.service
	// unit (systemd as PID 1), else what /init is or leads to (agent as PID 1).
	Agent *File
}

// File is one regular file found in a root filesystem.
type File struct {
	Path   string // absolute path inside the guest, e.g. /init
	SHA256 string
	Size   int64
}

const statusPath = "var/lib/dpkg/status"

// ScanInitrd reads a newc cpio initrd (gzip, zstd or uncompressed, as
// internal/initrd writes them) and returns the dpkg status and the agent.
func ScanInitrd(file string) (*Contents, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open initrd: %w", err)
	}
	defer f.Close()
	// The reading side of internal/initrd knows every compression the
	// writing side produces.
	r, _, err := initrd.Decompress(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	defer r.Close()
	c, err := scanCPIO(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

type entry struct {
	kind     initrd.Kind
	size     int64
	sum      string
	inode    uint32
	links    uint32
	linkname string
	elf      bool
}

func scanCPIO(r io.Reader) (*Contents, error) {
	cr := initrd.NewReader(r)
	entries := map[string]*entry{}
	// dataByInode finds the content of hardlinked files: newc stores the data
	// once, with one of the names, and the others have size 0.
	dataByInode := map[uint32]*entry{}
	units := map[string][]byte{}
	var status []byte
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read cpio: %w", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		e := &entry{kind: h.Kind(), size: h.Size, inode: h.Inode, links: h.NLink, linkname: h.Linkname}
		entries[name] = e
		if e.kind != initrd.KindRegular || h.Size == 0 {
			continue
		}
		keep := name == statusPath || isAgentUnit(name)
		hs := sha256.New()
		var head [4]byte
		var buf bytes.Buffer
		w := io.Writer(hs)
		if keep {
			w = io.MultiWriter(hs, &buf)
		}
		n, err := io.ReadFull(cr, head[:])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read %s from cpio: %w", name, err)
		}
		w.Write(head[:n])
		if _, err := io.Copy(w, cr); err != nil {
			return nil, fmt.Errorf("read %s from cpio: %w", name, err)
		}
		e.sum = hex.EncodeToString(hs.Sum(nil))
		e.elf = n == 4 && string(head[:]) == "\x7fELF"
		if h.NLink > 1 {
			dataByInode[h.Inode] = e
		}
		switch {
		case name == statusPath:
			status = buf.Bytes()
		case keep:
			units[name] = buf.Bytes()
		}
	}
	for _, e := range entries {
		if e.kind == initrd.KindRegular && e.size == 0 && e.links > 1 {
			if d := dataByInode[e.inode]; d != nil {
				e.size, e.sum, e.elf = d.size, d.sum, d.elf
			}
		}
	}
	if status == nil {
		return nil, fmt.Errorf("/%s is not in the archive: the SBOM lists Debian packages from it, so the image must keep it", statusPath)
	}
	agent, err := findAgent(entries, units)
	if err != nil {
		return nil, err
	}
	return &Contents{Status: status, Agent: agent}, nil
}

func isAgentUnit(name string) bool {
	return strings.Contains(name, "systemd/system/") && strings.HasSuffix(name, ".service") &&
		strings.Contains(path.Base(name), "agent")
}

func findAgent(entries map[string]*entry, units map[string][]byte) (*File, error) {
	// A unit names the agent when systemd is PID 1; /init then leads to
	// systemd, so units are asked first.
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		prog := execStart(units[n])
		if prog == "" {
			continue
		}
		resolved, e := resolve(entries, strings.TrimPrefix(path.Clean(prog), "/"))
		if e == nil {
			return nil, fmt.Errorf("/%s starts %s, which is not a regular file in the archive", n, prog)
		}
		return &File{Path: "/" + resolved, SHA256: e.sum, Size: e.size}, nil
	}
	if resolved, e := resolve(entries, "init"); e != nil && e.elf {
		return &File{Path: "/" + resolved, SHA256: e.sum, Size: e.size}, nil
	}
	return nil, errors.New("no agent found: /init does not lead to an ELF regular file and no *agent*.service unit has an ExecStart= (the SBOM must name the agent)")
}

// execStart returns the program of the first ExecStart= line, without
// systemd's prefix characters (-, @, :, +, !).
func execStart(unit []byte) string {
	for _, line := range strings.Split(string(unit), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart=")
		if !ok {
			continue
		}
		v = strings.TrimLeft(strings.TrimSpace(v), "-@:+!")
		if f := strings.Fields(v); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

// resolve follows symlinks inside the archive to a regular file, in every
// component of the path as the guest kernel does (merged /usr: /sbin/init goes
// through the sbin -> usr/sbin link), bounded like the kernel's 40 hops.
func resolve(entries map[string]*entry, name string) (string, *entry) {
	rest := strings.Split(strings.Trim(path.Clean("/"+name), "/"), "/")
	done := ""
	for hops := 0; len(rest) > 0; {
		next := path.Join(done, rest[0])
		rest = rest[1:]
		e := entries[next]
		if e == nil || e.kind != initrd.KindSymlink {
			done = next
			continue
		}
		if hops++; hops > 40 {
			return next, nil
		}
		target := e.linkname
		if !path.IsAbs(target) {
			target = path.Join("/"+done, target)
		}
		rest = append(strings.Split(strings.Trim(path.Clean(target), "/"), "/"), rest...)
		done = ""
	}
	e := entries[done]
	if e == nil || e.kind != initrd.KindRegular {
		return done, nil
	}
	return done, e
}
