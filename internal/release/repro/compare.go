// Package repro is the reproducibility gate's judge: it compares two artifact trees
// built from the same inputs (dist/<arch>/ of two cache-disabled builds) and, where
// they differ, says what differs first inside each artifact: the member of an initrd
// (newc cpio, compressed or not), of a tar, of an ext4 or erofs image, or the byte
// offset (with the ELF section) of anything else. It needs no engine; ext4 and erofs
// images are read with e2fsprogs' debugfs and erofs-utils' fsck.erofs when they are on
// PATH, and diffoscope, when present, is run on the first mismatching pair.
package repro

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/sha256sum"
)

// Options tune Compare; the zero value is ready to use.
type Options struct {
	// MaxMembers bounds the differing members listed per artifact (default 20); the
	// report still counts all of them.
	MaxMembers int
	// TempDir holds scratch files (extracted filesystems); default os.TempDir().
	TempDir string
	// DiffoscopeDir receives diffoscope's report; default a new directory in TempDir.
	// The report is kept: its path is in Report.Diffoscope.
	DiffoscopeDir string
	// NoDiffoscope leaves diffoscope out even when it is on PATH.
	NoDiffoscope bool
	// DiffoscopeTimeout bounds diffoscope (default 10 minutes: on a whole disk image it
	// can run far longer than the gate itself).
	DiffoscopeTimeout time.Duration
	// DiffoscopeMaxBytes skips diffoscope on larger artifacts (default 64 MiB): on the
	// 160 MiB ext4 rootfs image diffoscope-minimal took 130 s and 3.9 GiB of memory
	// for a hex dump, where the member comparison named the file in 10 s.
	DiffoscopeMaxBytes int64
	// LookPath finds host tools (debugfs, fsck.erofs, diffoscope); default
	// exec.LookPath.
	LookPath func(string) (string, error)
}

func (o *Options) defaults() {
	if o.MaxMembers <= 0 {
		o.MaxMembers = 20
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.DiffoscopeTimeout <= 0 {
		o.DiffoscopeTimeout = 10 * time.Minute
	}
	if o.DiffoscopeMaxBytes <= 0 {
		o.DiffoscopeMaxBytes = 64 << 20
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
}

// ErrBadInput marks errors about the trees themselves (not directories, empty): the
// comparison could not run, which is not the same as finding a difference.
var ErrBadInput = errors.New("bad input")

// Compare walks the trees a and b and compares every regular file by sha256 and
// every symlink by its target string. A link is never followed: not to read a file
// (a tree may hold link -> /etc/shadow, and the report may be published), not into a
// directory, so loops cannot hang the walk. A tree root that is itself a symlink is
// resolved once, and the report says so (Report.Notes). Other file types (FIFOs,
// devices, sockets) are compared by type and never opened. An entry present in
// only one tree is a mismatch. Each mismatching regular file is looked into (see
// the package doc); a failure to look into one (a truncated archive, a missing
// tool) is written to its Note, never hidden, and does not stop the comparison.
func Compare(ctx context.Context, a, b string, opts Options) (*Report, error) {
	opts.defaults()
	var err error
	r := &Report{}
	if r.DirA, err = treeRoot(a, "a", &r.Notes); err != nil {
		return nil, err
	}
	if r.DirB, err = treeRoot(b, "b", &r.Notes); err != nil {
		return nil, err
	}
	entriesA, err := listEntries(r.DirA)
	if err != nil {
		return nil, err
	}
	entriesB, err := listEntries(r.DirB)
	if err != nil {
		return nil, err
	}
	all := slices.Sorted(maps.Keys(entriesA))
	all = slices.Compact(slices.Sorted(slices.Values(append(all, slices.Collect(maps.Keys(entriesB))...))))
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: neither %s nor %s holds a file: nothing to compare (did the builds export?)", ErrBadInput, r.DirA, r.DirB)
	}
	for _, rel := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ea, inA := entriesA[rel]
		eb, inB := entriesB[rel]
		art := Artifact{Path: rel}
		pa, pb := filepath.Join(r.DirA, filepath.FromSlash(rel)), filepath.Join(r.DirB, filepath.FromSlash(rel))
		if err := compareEntry(ctx, &art, ea, eb, inA, inB, pa, pb, opts); err != nil {
			return nil, err
		}
		r.Artifacts = append(r.Artifacts, art)
	}
	mism := r.Mismatches()
	r.Identical = len(mism) == 0
	if r.Identical {
		return r, nil
	}
	slices.SortStableFunc(mism, func(x, y Artifact) int {
		if d := rank(x.Path) - rank(y.Path); d != 0 {
			return d
		}
		return strings.Compare(x.Path, y.Path)
	})
	r.First = mism[0].Path
	if !opts.NoDiffoscope {
		r.Diffoscope, r.DiffoscopeNote = diffoscope(ctx, opts, mism[0], r.DirA, r.DirB)
	}
	return r, nil
}

// entry is one non-directory of a tree, as Lstat sees it.
type entry struct {
	mode   fs.FileMode // type bits only
	target string      // for a symlink: what it points to, as written
}

func (e entry) regular() bool { return e.mode.IsRegular() }

// typeName names an entry's type in the report.
func (e entry) typeName() string {
	switch {
	case e.mode.IsRegular():
		return "regular file"
	case e.mode&fs.ModeSymlink != 0:
		return "symlink"
	case e.mode&fs.ModeNamedPipe != 0:
		return "FIFO"
	case e.mode&fs.ModeSocket != 0:
		return "socket"
	case e.mode&fs.ModeCharDevice != 0:
		return "character device"
	case e.mode&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// describe is an entry as the report shows it: a symlink with its quoted target
// (quoted because a hostile tree chooses the bytes), anything else by its type.
func (e entry) describe() string {
	if e.mode&fs.ModeSymlink != 0 {
		return "symlink to " + strconv.Quote(e.target)
	}
	return e.typeName()
}

// compareEntry fills art from the two sides of one path. Only a regular file is
// ever opened, and only through its own path inside its tree.
func compareEntry(ctx context.Context, art *Artifact, ea, eb entry, inA, inB bool, pa, pb string, opts Options) error {
	var err error
	if inA && ea.regular() {
		if art.SHA256A, art.SizeA, err = hashFile(pa); err != nil {
			return err
		}
	}
	if inB && eb.regular() {
		if art.SHA256B, art.SizeB, err = hashFile(pb); err != nil {
			return err
		}
	}
	if inA && ea.mode&fs.ModeSymlink != 0 {
		art.LinkA = &ea.target
	}
	if inB && eb.mode&fs.ModeSymlink != 0 {
		art.LinkB = &eb.target
	}
	present, side := ea, pa
	switch {
	case !inA:
		art.Missing, present, side = "a", eb, pb
	case !inB:
		art.Missing = "b"
	}
	if !present.regular() {
		art.Kind = Kind(strings.ReplaceAll(present.typeName(), " ", "-"))
		if present.mode&fs.ModeSymlink != 0 {
			art.Kind = KindSymlink
		}
		if art.Missing == "" {
			art.Identical = ea.mode == eb.mode && ea.target == eb.target
			if !art.Identical {
				art.Location = "a is a " + ea.describe() + ", b is a " + eb.describe()
				if art.LinkA != nil && art.LinkB != nil {
					art.Location = fmt.Sprintf("symlink target %q != %q", ea.target, eb.target)
				}
			}
		}
		return nil
	}
	if art.Kind, art.Compression, err = detect(side); err != nil {
		return err
	}
	if art.Missing != "" {
		return nil
	}
	if !eb.regular() {
		art.Location = "a is a " + ea.describe() + ", b is a " + eb.describe()
		return nil
	}
	art.Identical = art.SHA256A == art.SHA256B
	if !art.Identical {
		analyze(ctx, art, pa, pb, opts)
	}
	return nil
}

// analyze fills in where a present-in-both artifact differs.
func analyze(ctx context.Context, art *Artifact, pa, pb string, opts Options) {
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	defer func() { art.Note = strings.Join(notes, "; ") }()

	if off, err := firstDifference(pa, pb); err != nil {
		note("compare bytes: %v", err)
	} else {
		art.Offset = &off
	}
	kindB, compB, err := detect(pb)
	if err != nil {
		note("%v", err)
		return
	}
	if kindB != art.Kind || compB != art.Compression {
		note("a is %s (%s), b is %s (%s): compared as bytes", art.Kind, art.Compression, kindB, compB)
		return
	}
	if art.Kind == KindDisk {
		// A Kata image: the tables and p2 (the hash tree) follow from p1, so p1's
		// filesystem is where a difference starts; compare it like a bare one.
		p1a, startA, errA := extractP1(pa, opts.TempDir, "a")
		p1b, startB, errB := extractP1(pb, opts.TempDir, "b")
		defer os.Remove(p1a)
		defer os.Remove(p1b)
		if err := errors.Join(errA, errB); err != nil {
			note("partitions: %v", err)
			return
		}
		kind, _, err := detect(p1a)
		if err != nil {
			note("%v", err)
			return
		}
		note("disk image: partition 1 (%s) compared", kind)
		if startA != startB {
			note("partition 1 starts at byte %d in a, %d in b", startA, startB)
			return
		}
		if art.Offset != nil {
			if *art.Offset < startA {
				note("the partition tables or DAX header differ (byte %d, before partition 1)", *art.Offset)
			}
			off := *art.Offset - startA
			art.Offset = &off
		}
		pa, pb, art.Kind = p1a, p1b, kind
	}
	var diffs []MemberDiff
	switch art.Kind {
	case KindELF:
		if art.Offset != nil {
			art.Location = elfLocation(pa, *art.Offset)
		}
		return
	case KindText:
		art.Location = textLocation(pa, pb)
		return
	case KindBinary:
		return
	case KindCpio, KindTar:
		read := cpioMembers
		if art.Kind == KindTar {
			read = tarMembers
		}
		ma, errA := read(pa)
		mb, errB := read(pb)
		if err := errors.Join(errA, errB); err != nil {
			note("members: %v", err)
			return
		}
		diffs = diffMembers(ma, mb, true)
	case KindExt4:
		debugfs, err := opts.LookPath("debugfs")
		if err != nil {
			note("debugfs not on PATH (install e2fsprogs): ext4 members not compared")
			return
		}
		ma, sbA, errA := ext4Members(ctx, debugfs, pa, opts.TempDir)
		mb, sbB, errB := ext4Members(ctx, debugfs, pb, opts.TempDir)
		if err := errors.Join(errA, errB); err != nil {
			note("members: %v", err)
			return
		}
		diffs = append(diffMembers(ma, mb, false), superblockDiff("(superblock)", sbA, sbB)...)
		if art.Offset != nil {
			art.Location = ext4Location(sbA, *art.Offset)
		}
	case KindErofs:
		fsck, err := opts.LookPath("fsck.erofs")
		if err != nil {
			note("fsck.erofs not on PATH (install erofs-utils): erofs members not compared")
			return
		}
		ma, sbA, n, errA := erofsMembers(ctx, fsck, pa, opts.TempDir)
		mb, sbB, _, errB := erofsMembers(ctx, fsck, pb, opts.TempDir)
		if err := errors.Join(errA, errB); err != nil {
			note("members: %v", err)
			return
		}
		note("%s", n)
		diffs = append(diffMembers(ma, mb, false), superblockDiff("(superblock)", sbA, sbB)...)
	}
	art.MembersDiffering = len(diffs)
	if len(diffs) > opts.MaxMembers {
		diffs = diffs[:opts.MaxMembers]
	}
	art.Members = diffs
	if len(diffs) == 0 {
		note("every member is identical: the difference is in the container itself (compression stream, padding, block allocation)")
	}
}

// superblockDiff turns differing filesystem header fields into a member. It is never
// marked a cause: the UUID and hash seed are derived from the content, so they differ
// whenever a file does; only when no file differs is it the place to look.
func superblockDiff(name string, a, b map[string]string) []MemberDiff {
	fs, _ := diffFields(a, b)
	if len(fs) == 0 {
		return nil
	}
	return []MemberDiff{{Member: name, Change: ChangeDiffers, Fields: fs, pos: 1 << 30}}
}

// rankOfKind orders artifacts cause first: a kernel's config before the vmlinux
// built from it, the vmlinux before the compressed image made of it, a disk image
// before its verity tree, root hash and command line. Any other file ranks
// between the disk images and what is derived from them.
var rankOfKind = map[artifact.Kind]int{
	artifact.KernelConfig:  0,
	artifact.Kernel:        1,
	artifact.SystemMap:     2,
	artifact.KernelImage:   3,
	artifact.Initrd:        4,
	artifact.RootfsImage:   5,
	artifact.VerityTree:    7,
	artifact.VerityParams:  7,
	artifact.VerityCmdline: 7,
	artifact.RootHash:      7,
}

// rank is p's place in rankOfKind.
func rank(p string) int {
	if kind, _, ok := artifact.KindOf(path.Base(p)); ok {
		if r, ok := rankOfKind[kind]; ok {
			return r
		}
	}
	return 6
}

// treeRoot makes dir absolute and checks it is a directory. A root that is itself
// a symlink (dist -> /srv/builds/42) is resolved once, here, and noted: inside the
// tree no link is ever followed.
func treeRoot(dir, side string, notes *[]string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBadInput, dir, err)
	}
	lst, err := os.Lstat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return "", fmt.Errorf("%w: tree %s is a symlink that does not resolve: %w", ErrBadInput, dir, err)
		}
		*notes = append(*notes, fmt.Sprintf("%s: %s is a symlink; compared the tree it points to, %s", side, abs, resolved))
		abs = resolved
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%w: %s is not a directory: give the two artifact trees (e.g. dist/ of each build)", ErrBadInput, dir)
	}
	return abs, nil
}

// listEntries returns everything below root but directories, keyed by slash path
// relative to root. WalkDir never follows symlinks, so a linked directory is one
// entry (a link) and a link loop is just a link.
func listEntries(root string) (map[string]entry, error) {
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := entry{mode: d.Type()}
		if d.Type()&fs.ModeSymlink != 0 {
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return out, nil
}

// openArtifact opens a file of a tree that the walk saw as regular, refusing it if
// it is no longer one: a tree being written to (or an attacker racing the walk)
// could swap it for a link to a file outside the tree, or for a FIFO whose open
// would block forever. O_NOFOLLOW refuses the link, O_NONBLOCK keeps the FIFO's
// open from blocking (regular files ignore it), fstat checks what was opened.
func openArtifact(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (was it changed during the comparison? compare trees nobody is writing to)", p, pathlessErr(err))
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("open %s: it is a %s now, not the regular file the walk saw: compare trees nobody is writing to", p, entry{mode: st.Mode().Type()}.typeName())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// pathlessErr drops the path os puts in its errors, which the caller names itself.
func pathlessErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func hashFile(p string) (string, int64, error) {
	f, err := openArtifact(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sum, n, err := sha256sum.Reader(f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", p, err)
	}
	return sum, n, nil
}
