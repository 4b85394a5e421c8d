package repro

import (
	"archive/tar"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// cpioMembers reads a (compressed) newc archive with internal/initrd's reader, the
// one that also keeps device numbers and checks what the kernel checks.
func cpioMembers(path string) ([]member, error) {
	rc, _, err := decompress(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r := initrd.NewReader(rc)
	var out []member
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: record %d: %w", path, len(out)+1, err)
		}
		m := member{Path: h.Name, Fields: map[string]string{
			fType:  typeName(h.Mode),
			fMode:  octal(h.Perm()),
			fUID:   strconv.FormatUint(uint64(h.UID), 10),
			fGID:   strconv.FormatUint(uint64(h.GID), 10),
			fSize:  strconv.FormatInt(h.Size, 10),
			fMTime: unixTime(h.MTime, 0),
			fNLink: strconv.FormatUint(uint64(h.NLink), 10),
			fInode: strconv.FormatUint(uint64(h.Inode), 10),
			// The device the file came from: packers that copy host metadata leak it.
			"dev":   fmt.Sprintf("%d:%d", h.DevMajor, h.DevMinor),
			fFormat: h.Magic,
		}}
		if h.RdevMajor != 0 || h.RdevMinor != 0 {
			m.Fields[fRdev] = fmt.Sprintf("%d:%d", h.RdevMajor, h.RdevMinor)
		}
		if h.Linkname != "" {
			m.Fields[fLink] = h.Linkname
		} else if h.Size > 0 {
			sum, _, err := sha256sum.Reader(r)
			if err != nil {
				return out, fmt.Errorf("%s: %s: %w", path, h.Name, err)
			}
			m.Fields[fContent] = sum
		}
		out = append(out, m)
	}
}

// tarMembers reads a (compressed) tar archive.
func tarMembers(path string) ([]member, error) {
	rc, _, err := decompress(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []member
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: entry %d: %w", path, len(out)+1, err)
		}
		m := member{Path: h.Name, Fields: map[string]string{
			fType:   tarType(h.Typeflag),
			fMode:   octal(uint32(h.Mode) & 0o7777),
			fUID:    strconv.Itoa(h.Uid),
			fGID:    strconv.Itoa(h.Gid),
			fSize:   strconv.FormatInt(h.Size, 10),
			fMTime:  unixTime(h.ModTime.Unix(), int64(h.ModTime.Nanosecond())),
			fFormat: h.Format.String(),
		}}
		if h.Uname != "" {
			m.Fields[fUname] = h.Uname
		}
		if h.Gname != "" {
			m.Fields[fGname] = h.Gname
		}
		if !h.AccessTime.IsZero() {
			m.Fields[fATime] = unixTime(h.AccessTime.Unix(), int64(h.AccessTime.Nanosecond()))
		}
		if !h.ChangeTime.IsZero() {
			m.Fields[fCTime] = unixTime(h.ChangeTime.Unix(), int64(h.ChangeTime.Nanosecond()))
		}
		if h.Linkname != "" {
			m.Fields[fLink] = h.Linkname
		}
		if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
			m.Fields[fRdev] = fmt.Sprintf("%d:%d", h.Devmajor, h.Devminor)
		}
		// Extended attributes and any other PAX record (SCHILY.xattr.security.capability,
		// LIBARCHIVE.*) are part of what is extracted.
		for _, k := range sortedKeys(h.PAXRecords) {
			name := "pax " + k
			if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				name = fXattr + x
			}
			switch k {
			case "mtime", "atime", "ctime", "path", "linkpath", "size", "uid", "gid", "uname", "gname":
				continue // already in the header fields
			}
			m.Fields[name] = printable(h.PAXRecords[k])
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			sum, _, err := sha256sum.Reader(tr)
			if err != nil {
				return out, fmt.Errorf("%s: %s: %w", path, h.Name, err)
			}
			m.Fields[fContent] = sum
		}
		out = append(out, m)
	}
}

// typeName names the file type in S_IFMT bits, as cpio, tar and ext4 all store them.
func typeName(mode uint32) string {
	switch mode & 0o170000 {
	case 0o100000:
		return "file"
	case 0o040000:
		return "directory"
	case 0o120000:
		return "symlink"
	case 0o020000:
		return "character device"
	case 0o060000:
		return "block device"
	case 0o010000:
		return "fifo"
	case 0o140000:
		return "socket"
	}
	return fmt.Sprintf("type %06o", mode&0o170000)
}

func tarType(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeDir:
		return "directory"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("typeflag %q", t)
}

func octal(perm uint32) string { return fmt.Sprintf("%04o", perm) }

// unixTime shows a timestamp in UTC with its raw value, so a report reads the same in
// every time zone and still shows the number the archive holds.
func unixTime(sec, nsec int64) string {
	t := time.Unix(sec, nsec).UTC()
	if nsec != 0 {
		return fmt.Sprintf("%s (%d.%09d)", t.Format(time.RFC3339Nano), sec, nsec)
	}
	return fmt.Sprintf("%s (%d)", t.Format(time.RFC3339), sec)
}

// printable shows a binary value (a capability xattr) as hex.
func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return "hex:" + hex.EncodeToString([]byte(s))
		}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
