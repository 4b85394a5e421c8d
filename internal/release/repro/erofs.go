package repro

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/guestforge/guestforge/internal/sha256sum"
)

// erofsMembers extracts an erofs image with `fsck.erofs --extract --preserve` (which
// checks every block on the way) and reads the tree back with lstat. erofs-utils 1.5
// extracts type, mode, owner, size, mtime, link targets and contents; it writes hard
// links as separate files and drops extended attributes, so those two are not
// compared (the returned note says so). Owners are kept only when running as root.
func erofsMembers(ctx context.Context, fsck, img, tmp string) ([]member, map[string]string, string, error) {
	dir, err := os.MkdirTemp(tmp, "erofs-")
	if err != nil {
		return nil, nil, "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "root")
	var stderr bytes.Buffer
	preserve := "--preserve"
	if os.Geteuid() != 0 {
		preserve = "--preserve-perms" // chown needs root
	}
	cmd := exec.CommandContext(ctx, fsck, "--extract="+out, preserve, img)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, "", fmt.Errorf("fsck.erofs --extract %s: %w\n%s", img, err, strings.TrimSpace(stderr.String()))
	}
	var ms []member
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		m := member{Path: path.Join("/", filepath.ToSlash(rel)), Fields: map[string]string{
			fType:  typeName(st.Mode),
			fMode:  octal(st.Mode & 0o7777),
			fUID:   strconv.FormatUint(uint64(st.Uid), 10),
			fGID:   strconv.FormatUint(uint64(st.Gid), 10),
			fMTime: unixTime(st.Mtim.Sec, st.Mtim.Nsec),
		}}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			m.Fields[fSize] = strconv.FormatInt(st.Size, 10)
			if st.Size > 0 {
				sum, _, err := sha256sum.File(p)
				if err != nil {
					return err
				}
				m.Fields[fContent] = sum
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m.Fields[fLink] = target
		case unix.S_IFCHR, unix.S_IFBLK:
			m.Fields[fRdev] = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("read the extracted %s: %w", img, err)
	}
	note := "erofs: extended attributes and hard links are not compared (fsck.erofs --extract does not restore them)"
	if os.Geteuid() != 0 {
		note += "; owners are not compared either (extraction keeps them only as root)"
		for _, m := range ms {
			delete(m.Fields, fUID)
			delete(m.Fields, fGID)
		}
	}
	return ms, erofsSuperblock(ctx, img), note, nil
}

// erofsSuperblock reads `dump.erofs -s` when erofs-utils ships it; nil otherwise.
func erofsSuperblock(ctx context.Context, img string) map[string]string {
	dump, err := exec.LookPath("dump.erofs")
	if err != nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, dump, "-s", img)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	return parseSuperblock(string(out))
}
