package diskimage

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The ext4 filesystem of p1: its size, the mkfs.ext4 command that makes it, and
// the debugfs script that fixes the inode times mkfs copies from the staging
// tree. The pipeline runs the commands; this file decides them.

// ext4 geometry the images are made with (see Mke2fsConf).
const (
	// ext4JournalMiB is the journal's size. The image is read-only, but Kata's
	// runtime mounts an ext4 root with rootflags=data=ordered, which the kernel
	// refuses on a filesystem without a journal ("can't mount with data=");
	// 4 MiB is mke2fs's smallest journal for 4 KiB blocks (1024 blocks).
	ext4JournalMiB    = 4
	ext4JournalBlocks = ext4JournalMiB << 20 / ext4Block
	ext4Block         = 4096
	ext4InodeSize     = 256
	ext4GroupSpan     = 8 * ext4Block // blocks per group: one bitmap block of bits
)

// Ext4Content is what an ext4 image is sized from: counts a walk of the finished
// rootfs makes.
type Ext4Content struct {
	// Entries is the number of inodes the tree needs: every file, directory,
	// symlink and device node.
	Entries int
	// DataBlocks is the sum of every inode's size rounded up to 4 KiB blocks.
	DataBlocks int64
	// DirBlocks estimates the 4 KiB blocks the directories' entries take.
	DirBlocks int64
	// LongSymlinks are symlinks whose target does not fit in the inode (60+
	// bytes), each a block of its own.
	LongSymlinks int
}

// Ext4Layout is the size and inode count of an ext4 image for a rootfs.
type Ext4Layout struct {
	Bytes  int64
	Inodes int64
}

// PlanExt4 sizes an ext4 image for c: every data, directory and long-symlink block,
// the inode tables, bitmaps and group descriptors, plus headroom (5% and 8 MiB: the
// image is read-only, the headroom only absorbs what the estimate does not model,
// such as extent blocks of fragmented files), aligned to FilesystemAlign.
func PlanExt4(c Ext4Content) Ext4Layout {
	inodes := int64(c.Entries) + int64(c.Entries)/10 + 64
	inodes = (inodes + 7) &^ 7
	blocks := c.DataBlocks + c.DirBlocks + int64(c.LongSymlinks)
	blocks += (inodes*ext4InodeSize + ext4Block - 1) / ext4Block
	groups := (blocks + ext4GroupSpan - 1) / ext4GroupSpan
	// Two bitmaps per group, a 64-byte descriptor per group (in every backup), and the
	// superblock and descriptor backups of sparse_super (a handful of groups).
	gdtBlocks := (groups*64 + ext4Block - 1) / ext4Block
	blocks += groups*2 + (1+gdtBlocks)*min(groups, 8) + 2
	blocks += ext4JournalBlocks
	bytes := blocks * ext4Block
	bytes += bytes/20 + 8<<20
	return Ext4Layout{Bytes: alignUp(bytes, FilesystemAlign), Inodes: inodes}
}

// Mke2fsConf pins the ext4 feature set and geometry, so an image does not change when
// a builder's e2fsprogs ships another /etc/mke2fs.conf: the pipeline writes it into
// the image builder and points MKE2FS_CONFIG at it. A small journal, only because
// Kata mounts the root with data=ordered (see ext4JournalMiB); the root is read-only,
// so nothing is ever written to it.
const Mke2fsConf = `[defaults]
	base_features = has_journal,sparse_super,large_file,filetype,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	blocksize = 4096
	inode_size = 256
	reserved_ratio = 0
	hash_alg = half_md4
	enable_periodic_fsck = 0
	lazy_itable_init = false
	lazy_journal_init = false

[fs_types]
	ext4 = {
		features = extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	guestforge = {
		inode_ratio = 16384
	}
`

// Mkfs4Args is the mkfs.ext4 command for an image of layout l populated from dir.
// uuid and seed come from ContentUUID; root_owner and the fixed times (the caller sets
// E2FSPROGS_FAKE_TIME) keep mkfs from taking anything from the machine.
func Mkfs4Args(l Ext4Layout, uuid, seed, label, dir, out string) []string {
	// -T guestforge: the usage type Mke2fsConf defines, instead of one picked by size.
	return []string{"mkfs.ext4", "-q", "-F", "-T", "guestforge", "-b", "4096", "-I", "256",
		"-N", strconv.FormatInt(l.Inodes, 10), "-m", "0", "-J", "size=" + strconv.Itoa(ext4JournalMiB), "-L", label, "-U", uuid,
		"-E", "hash_seed=" + seed + ",root_owner=0:0,nodiscard",
		"-d", dir, out, strconv.FormatInt(l.Bytes/1024, 10) + "k"}
}

// InodeRange is a run of inode numbers, inclusive.
type InodeRange struct{ First, Last int64 }

// UsedInodes reads `dumpe2fs` output and returns the inodes in use from the first
// non-reserved inode on: the ones mkfs -d populated from files.
func UsedInodes(dumpe2fs string) ([]InodeRange, error) {
	var count, perGroup, first int64
	free := map[int64][]InodeRange{}
	group := int64(-1)
	sc := bufio.NewScanner(strings.NewReader(dumpe2fs))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		switch {
		case key == "Inode count":
			count, _ = strconv.ParseInt(val, 10, 64)
		case key == "Inodes per group":
			perGroup, _ = strconv.ParseInt(val, 10, 64)
		case key == "First inode":
			first, _ = strconv.ParseInt(val, 10, 64)
		case strings.HasPrefix(key, "Group "):
			// "Group 3: (Blocks ...)"; "Group descriptor size:" is a superblock field.
			n, err := strconv.ParseInt(strings.TrimPrefix(key, "Group "), 10, 64)
			if err != nil {
				continue
			}
			group = n
			free[group] = []InodeRange{}
		case key == "Free inodes" && group >= 0:
			rs, err := parseRanges(val)
			if err != nil {
				return nil, fmt.Errorf("dumpe2fs group %d: %w", group, err)
			}
			free[group] = rs
		}
	}
	if count <= 0 || perGroup <= 0 || first <= 0 {
		return nil, fmt.Errorf("dumpe2fs output lacks Inode count / Inodes per group / First inode (got %d, %d, %d)", count, perGroup, first)
	}
	groups := (count + perGroup - 1) / perGroup
	if int64(len(free)) != groups {
		return nil, fmt.Errorf("dumpe2fs lists %d groups, the superblock says %d", len(free), groups)
	}
	var used []InodeRange
	for g := int64(0); g < groups; g++ {
		next := g*perGroup + 1
		end := min((g+1)*perGroup, count)
		for _, f := range free[g] {
			if f.First > next {
				used = append(used, InodeRange{next, f.First - 1})
			}
			next = max(next, f.Last+1)
		}
		if next <= end {
			used = append(used, InodeRange{next, end})
		}
	}
	// Reserved inodes (the root's times come from E2FSPROGS_FAKE_TIME already).
	var out []InodeRange
	for _, r := range used {
		if r.Last < first {
			continue
		}
		out = append(out, InodeRange{max(r.First, first), r.Last})
	}
	return mergeRanges(out), nil
}

// parseRanges reads "12-20, 25, 30-40" (empty: none).
func parseRanges(s string) ([]InodeRange, error) {
	var out []InodeRange
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, isRange := strings.Cut(part, "-")
		first, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad inode range %q", part)
		}
		last := first
		if isRange {
			if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
				return nil, fmt.Errorf("bad inode range %q", part)
			}
		}
		out = append(out, InodeRange{first, last})
	}
	slices.SortFunc(out, func(x, y InodeRange) int { return int(x.First - y.First) })
	return out, nil
}

func mergeRanges(rs []InodeRange) []InodeRange {
	var out []InodeRange
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].Last+1 >= r.First {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// DebugfsTimes is the debugfs script that sets the access, change and modification
// times of every inode in used to epoch. mkfs.ext4 -d copies them from the staging
// directory, where the change time is the moment the tarball was unpacked (no tool can
// set it), the access time whatever tar chose, and a directory's modification time the
// epoch only if nothing touched it after tar set it. The rootfs has every mtime at the
// epoch, so this only restores what the tarball says.
func DebugfsTimes(used []InodeRange, epoch int64) string {
	var b strings.Builder
	for _, r := range used {
		for ino := r.First; ino <= r.Last; ino++ {
			for _, field := range []string{"atime", "ctime", "mtime"} {
				fmt.Fprintf(&b, "sif <%d> %s @%d\n", ino, field, epoch)
			}
		}
	}
	return b.String()
}
