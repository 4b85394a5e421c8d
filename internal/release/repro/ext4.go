package repro

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/guestforge/guestforge/internal/boundedio"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// ext4 images are read with debugfs (e2fsprogs) on the host, without mounting: no
// root, no loop devices, no kernel ext4 driver needed, and debugfs reads exactly what
// the kernel would (inode fields, xattrs, fast symlinks), which a pure-Go reader of
// our own would have to be trusted to get right. It is driven with command files
// (debugfs -f), one process per directory level and one each for the inodes' stat
// and content, so a rootfs of 10,000 inodes costs about ten processes, not 10,000.
// Inodes are addressed by number (<12>), so no file name ever needs quoting.
//
// Why not `rdump / DIR` and a tree walk: rdump skips device nodes, fifos and sockets,
// and the host's lstat cannot show ext4's crtime, inode flags or inode numbers.

// ext4Entry is one directory entry from `ls -p`.
type ext4Entry struct {
	path string
	ino  int64
	mode uint32
}

// ext4Members walks the image at img with debugfs and returns one member per path,
// in path order, and the superblock fields.
func ext4Members(ctx context.Context, debugfs, img, tmp string) ([]member, map[string]string, error) {
	entries, err := ext4Walk(ctx, debugfs, img, tmp)
	if err != nil {
		return nil, nil, err
	}
	inodes := map[int64]*ext4Inode{}
	var order []int64
	for _, e := range entries {
		if _, ok := inodes[e.ino]; !ok {
			inodes[e.ino] = nil
			order = append(order, e.ino)
		}
	}
	var cmds strings.Builder
	for _, ino := range order {
		fmt.Fprintf(&cmds, "stat <%d>\n", ino)
	}
	out, err := runDebugfs(ctx, debugfs, img, tmp, cmds.String())
	if err != nil {
		return nil, nil, err
	}
	for ino, text := range sections(out, "stat") {
		in, err := parseExt4Stat(text)
		if err != nil {
			return nil, nil, fmt.Errorf("debugfs stat <%d> of %s: %w", ino, img, err)
		}
		inodes[ino] = in
	}
	// Content: regular files and symlinks too long for the inode, dumped by inode
	// number into a scratch directory, hashed, removed.
	dumpDir, err := os.MkdirTemp(tmp, "ext4-dump-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dumpDir)
	// debugfs splits command lines at spaces unless quoted, and has no escape for a quote.
	if strings.Contains(dumpDir, `"`) {
		return nil, nil, fmt.Errorf("scratch directory %s has a double quote in its path, which debugfs cannot take: set another TempDir", dumpDir)
	}
	cmds.Reset()
	for _, ino := range order {
		in := inodes[ino]
		if in == nil {
			return nil, nil, fmt.Errorf("debugfs printed no stat for inode %d of %s", ino, img)
		}
		if (in.kind == "file" && in.size > 0) || (in.kind == "symlink" && !in.fastLink) {
			fmt.Fprintf(&cmds, "dump <%d> \"%s\"\n", ino, filepath.Join(dumpDir, strconv.FormatInt(ino, 10)))
		}
	}
	if cmds.Len() > 0 {
		if _, err := runDebugfs(ctx, debugfs, img, tmp, cmds.String()); err != nil {
			return nil, nil, err
		}
	}
	first := map[int64]string{} // inode -> first path, for hard links
	var ms []member
	for _, e := range entries {
		in := inodes[e.ino]
		m := member{Path: e.path, Fields: map[string]string{
			fType:   in.kind,
			fMode:   in.perm,
			fUID:    in.uid,
			fGID:    in.gid,
			fSize:   strconv.FormatInt(in.size, 10),
			fMTime:  in.times["mtime"],
			fCTime:  in.times["ctime"],
			fATime:  in.times["atime"],
			fCrTime: in.times["crtime"],
			fFlags:  in.flags,
			fNLink:  in.links,
			fInode:  strconv.FormatInt(e.ino, 10),
		}}
		for k, v := range in.extra {
			m.Fields[k] = v
		}
		for k, v := range in.xattrs {
			m.Fields[fXattr+k] = v
		}
		if in.rdev != "" {
			m.Fields[fRdev] = in.rdev
		}
		if p, ok := first[e.ino]; ok && in.kind != "directory" {
			m.Fields["hard link to"] = p
		} else {
			first[e.ino] = e.path
		}
		dumped := filepath.Join(dumpDir, strconv.FormatInt(e.ino, 10))
		switch {
		case in.kind == "symlink" && in.fastLink:
			m.Fields[fLink] = in.target
		case in.kind == "symlink":
			// ext4 caps a symlink target at one block; a bigger dump is damage.
			data, err := boundedio.ReadFileLimit(dumped, 64*boundedio.KiB, "a symlink target")
			if err != nil {
				return nil, nil, fmt.Errorf("debugfs dumped no target for the symlink %s (inode %d) of %s: %w", e.path, e.ino, img, err)
			}
			m.Fields[fLink] = string(data)
		case in.kind == "file" && in.size > 0:
			f, err := os.Open(dumped)
			if err != nil {
				return nil, nil, fmt.Errorf("debugfs dumped no content for %s (inode %d) of %s: %w", e.path, e.ino, img, err)
			}
			sum, _, err := sha256sum.Reader(f)
			f.Close()
			if err != nil {
				return nil, nil, err
			}
			m.Fields[fContent] = sum
		}
		ms = append(ms, m)
	}
	sbOut, err := runDebugfs(ctx, debugfs, img, tmp, "stats -h\n")
	if err != nil {
		return nil, nil, err
	}
	return ms, parseSuperblock(sbOut), nil
}

// ext4Walk lists every path of the image, breadth first: one debugfs run per
// directory level, `ls -p <ino>` for each directory of the level.
func ext4Walk(ctx context.Context, debugfs, img, tmp string) ([]ext4Entry, error) {
	const rootIno = 2
	entries := []ext4Entry{{path: "/", ino: rootIno, mode: 0o040000}}
	dirs := map[int64]string{rootIno: "/"}
	level := []int64{rootIno}
	for len(level) > 0 {
		var cmds strings.Builder
		for _, ino := range level {
			fmt.Fprintf(&cmds, "ls -p <%d>\n", ino)
		}
		out, err := runDebugfs(ctx, debugfs, img, tmp, cmds.String())
		if err != nil {
			return nil, err
		}
		listed := sections(out, "ls -p")
		var next []int64
		for _, dino := range level {
			text, ok := listed[dino]
			if !ok {
				return nil, fmt.Errorf("debugfs listed no directory for inode %d (%s) of %s", dino, dirs[dino], img)
			}
			for _, line := range strings.Split(text, "\n") {
				if line == "" {
					continue
				}
				e, name, err := parseLsP(line)
				if err != nil {
					return nil, fmt.Errorf("debugfs ls -p <%d> (%s) of %s: %w", dino, dirs[dino], img, err)
				}
				// Inode 0 marks an empty slot (lost+found is made of them).
				if name == "." || name == ".." || e.ino == 0 {
					continue
				}
				e.path = path.Join(dirs[dino], name)
				entries = append(entries, e)
				if e.mode&0o170000 == 0o040000 {
					if _, seen := dirs[e.ino]; !seen {
						dirs[e.ino] = e.path
						next = append(next, e.ino)
					}
				}
			}
		}
		level = next
	}
	// Path order: a walk's order is not part of the image.
	sortEntries(entries)
	return entries, nil
}

func sortEntries(es []ext4Entry) {
	slices.SortFunc(es, func(a, b ext4Entry) int { return strings.Compare(a.path, b.path) })
}

// parseLsP reads one `ls -p` line: /inode/mode/uid/gid/name/size/ (size empty for
// directories). A name cannot hold "/", so the fields split cleanly.
func parseLsP(line string) (ext4Entry, string, error) {
	f := strings.Split(line, "/")
	if len(f) != 8 || f[0] != "" || f[7] != "" {
		return ext4Entry{}, "", fmt.Errorf("line %q is not /inode/mode/uid/gid/name/size/", line)
	}
	ino, err1 := strconv.ParseInt(f[1], 10, 64)
	mode, err2 := strconv.ParseUint(f[2], 8, 32)
	if err1 != nil || err2 != nil {
		return ext4Entry{}, "", fmt.Errorf("line %q: inode or mode is not a number", line)
	}
	return ext4Entry{ino: ino, mode: uint32(mode)}, f[5], nil
}

// runDebugfs runs the commands in a command file and returns what they printed. debugfs
// exits 0 whatever its commands did and reports failures on stderr, so anything on
// stderr but its banner is an error.
func runDebugfs(ctx context.Context, debugfs, img, tmp, cmds string) (string, error) {
	f, err := os.CreateTemp(tmp, "debugfs-*.cmd")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(cmds); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, debugfs, "-f", f.Name(), img)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// debugfs prints times in the local zone; the report must not depend on it.
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("debugfs %s: %w\n%s", img, err, strings.TrimSpace(stderr.String()))
	}
	var complaints []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "debugfs ") {
			complaints = append(complaints, line)
		}
	}
	if len(complaints) > 0 {
		if len(complaints) > 5 {
			complaints = append(complaints[:5], fmt.Sprintf("(%d more)", len(complaints)-5))
		}
		return "", fmt.Errorf("debugfs could not read %s: %s", img, strings.Join(complaints, "; "))
	}
	return stdout.String(), nil
}

// sections splits command-file output at the "debugfs: <cmd> <N>" echo lines and
// returns each command's output by inode number.
func sections(out, cmd string) map[int64]string {
	res := map[int64]string{}
	prefix := "debugfs: " + cmd + " <"
	var cur int64 = -1
	var b strings.Builder
	flush := func() {
		if cur >= 0 {
			res[cur] = b.String()
		}
		b.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			flush()
			n, err := strconv.ParseInt(strings.TrimSuffix(rest, ">"), 10, 64)
			cur = -1
			if err == nil {
				cur = n
			}
			continue
		}
		if strings.HasPrefix(line, "debugfs: ") {
			flush()
			cur = -1
			continue
		}
		b.WriteString(line + "\n")
	}
	flush()
	return res
}

// ext4Inode is what `stat <N>` shows about an inode.
type ext4Inode struct {
	kind, perm, uid, gid, flags, links string
	size                               int64
	times                              map[string]string
	xattrs                             map[string]string
	extra                              map[string]string
	rdev                               string
	fastLink                           bool
	target                             string
}

var (
	reStatInode = regexp.MustCompile(`^Inode: \d+\s+Type: (.+?)\s+Mode:\s+(\d+)\s+Flags: (\S+)`)
	reStatGen   = regexp.MustCompile(`^Generation: (\d+)\s+Version: (\S+)`)
	reStatOwner = regexp.MustCompile(`^User:\s+(\d+)\s+Group:\s+(\d+)(?:\s+Project:\s+(\d+))?\s+Size: (\d+)`)
	reStatLinks = regexp.MustCompile(`^Links: (\d+)`)
	reStatACL   = regexp.MustCompile(`^File ACL: (\d+)`)
	reStatTime  = regexp.MustCompile(`^\s*(ctime|atime|mtime|crtime): (0x[0-9a-f]+)(?::([0-9a-f]+))?`)
	reStatFast  = regexp.MustCompile(`^Fast link dest: "(.*)"$`)
	reStatDev   = regexp.MustCompile(`^Device major/minor number: (\S+)`)
	reStatXattr = regexp.MustCompile(`^  (.+?) \((\d+)\)(?: = (.*))?$`)
	reStatInl   = regexp.MustCompile(`^Size of inline data: (\d+)`)
)

// parseExt4Stat reads `stat <N>` output. Times are taken as the raw hex debugfs
// prints (seconds and the extra word with nanoseconds), never its human form, which
// depends on the time zone.
func parseExt4Stat(text string) (*ext4Inode, error) {
	in := &ext4Inode{times: map[string]string{}, xattrs: map[string]string{}, extra: map[string]string{}}
	inXattrs := false
	seen := false
	for _, line := range strings.Split(text, "\n") {
		if inXattrs {
			if m := reStatXattr.FindStringSubmatch(line); m != nil {
				in.xattrs[m[1]] = m[3]
				continue
			}
			inXattrs = false
		}
		switch {
		case line == "Extended attributes:":
			inXattrs = true
		case reStatInode.MatchString(line):
			m := reStatInode.FindStringSubmatch(line)
			seen = true
			in.kind = ext4Kind(m[1])
			in.flags = m[3]
			if p, err := strconv.ParseUint(m[2], 8, 32); err == nil {
				in.perm = octal(uint32(p))
			}
		case reStatGen.MatchString(line):
			m := reStatGen.FindStringSubmatch(line)
			in.extra["generation"], in.extra["version"] = m[1], m[2]
		case reStatOwner.MatchString(line):
			m := reStatOwner.FindStringSubmatch(line)
			in.uid, in.gid = m[1], m[2]
			if m[3] != "" {
				in.extra["project"] = m[3]
			}
			in.size, _ = strconv.ParseInt(m[4], 10, 64)
		case reStatLinks.MatchString(line):
			in.links = reStatLinks.FindStringSubmatch(line)[1]
		case reStatACL.MatchString(line):
			in.extra["file acl block"] = reStatACL.FindStringSubmatch(line)[1]
		case reStatTime.MatchString(line):
			m := reStatTime.FindStringSubmatch(line)
			in.times[m[1]] = ext4Time(m[2], m[3])
		case reStatFast.MatchString(line):
			in.fastLink, in.target = true, reStatFast.FindStringSubmatch(line)[1]
		case reStatDev.MatchString(line):
			in.rdev = reStatDev.FindStringSubmatch(line)[1]
		case reStatInl.MatchString(line):
			in.extra["inline data"] = reStatInl.FindStringSubmatch(line)[1]
		}
	}
	if !seen {
		return nil, fmt.Errorf("no Inode: line in %q", firstLine(text))
	}
	return in, nil
}

// ext4Kind maps debugfs's type names to the ones every format here uses.
func ext4Kind(t string) string {
	switch t {
	case "regular":
		return "file"
	case "directory", "symlink", "fifo", "socket":
		return t
	case "character special":
		return "character device"
	case "block special":
		return "block device"
	}
	return t
}

// ext4Time decodes debugfs's "0xSECONDS:EXTRA": the extra word holds the nanoseconds
// shifted left by 2 and two epoch bits (dates past 2038).
func ext4Time(secHex, extraHex string) string {
	sec, err := strconv.ParseUint(strings.TrimPrefix(secHex, "0x"), 16, 32)
	if err != nil {
		return secHex
	}
	s := int64(int32(uint32(sec)))
	var nsec int64
	if extraHex != "" {
		extra, err := strconv.ParseUint(extraHex, 16, 32)
		if err == nil {
			s += int64(extra&3) << 32
			nsec = int64(extra >> 2)
		}
	}
	return unixTime(s, nsec)
}

// parseSuperblock reads `stats -h` (the dumpe2fs -h fields) into key/value pairs.
func parseSuperblock(out string) map[string]string {
	sb := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "debugfs") {
			continue
		}
		sb[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), " ")
	}
	return sb
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
