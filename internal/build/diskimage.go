package build

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/guestforge/guestforge/internal/artifact"
	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/kata"
)

// FS is the filesystem of a rootfs image. The values and their decisions are
// internal/diskimage's; build names them too because DiskSpec and MatrixSpec
// carry one, so a front door that fills a spec needs no second import.
type FS = diskimage.FS

// Filesystems a rootfs image can be written as (diskimage.FSExt4, FSErofs).
const (
	FSExt4  = diskimage.FSExt4
	FSErofs = diskimage.FSErofs
)

// ParseFS validates an --fs value (diskimage.ParseFS).
func ParseFS(s string) (FS, error) { return diskimage.ParseFS(s) }

// DiskSpec says how a rootfs becomes a disk image.
type DiskSpec struct {
	FS FS
	// Verity adds a dm-verity hash tree: p2 of a Kata image (with
	// verity-<image>.params, Kata's kernel_verity_params), or
	// rootfs-<image>.img.verity next to a raw one; the root hash, and the kernel
	// command line that mounts it.
	Verity bool
	// Layout is how the filesystem is laid out on the disk; the zero value is
	// LayoutKata, what Kata's runtime boots.
	Layout DiskLayout
}

// DiskLayout is the shape of a rootfs image file.
type DiskLayout string

const (
	// LayoutKata is Kata's image_builder.sh layout (internal/diskimage): an
	// msdos table, p1 the filesystem, p2 the hash tree without a superblock,
	// the nvdimm DAX header in front, the size a multiple of 128 MiB.
	LayoutKata DiskLayout = "kata"
	// LayoutRaw is the bare filesystem, the hash tree (with a verity
	// superblock) a file of its own: for a VMM that takes a filesystem as the
	// disk, and guestforge's layout before Kata's became the default.
	LayoutRaw DiskLayout = "raw"
)

// ParseDiskLayout validates a --layout value ("" is LayoutKata).
func ParseDiskLayout(s string) (DiskLayout, error) {
	switch l := DiskLayout(s); l {
	case "", LayoutKata:
		return LayoutKata, nil
	case LayoutRaw:
		return l, nil
	}
	return "", fmt.Errorf("unknown disk layout %q: use kata (Kata's partitioned image, the default) or raw (the bare filesystem)", s)
}

// DiskImage is a built rootfs image.
type DiskImage struct {
	Artifact
	FS FS
	// Verity is set when the image has a hash tree; Cmdline is the kernel command line
	// fragment for it (also written to verity-<image>.cmdline).
	Verity  *diskimage.VerityInfo
	Cmdline string
	// Layout is where p1, p2 and the headers went (LayoutKata only), and
	// VerityParams the kernel_verity_params value for it (with Verity).
	Layout       *diskimage.Layout
	VerityParams *kata.VerityParams
}

// Fixed paths inside the image builder.
const (
	diskIn      = "/in/rootfs.tar"
	diskStaging = "/rootfs"
	diskOut     = "/out/rootfs.img"
	diskVerity  = "/out/rootfs.img.verity"
	diskHash    = "/out/rootfs.hash"
	diskKata    = "/out/disk.img"
	diskPieces  = "/in/pieces"
	mke2fsPath  = "/etc/guestforge/mke2fs.conf"
	debugfsPath = "/etc/guestforge/times.debugfs"
)

// stageFunc stages the rootfs tarball $1 in the directory $2 as root, so owners,
// modes, device nodes and file capabilities reach mkfs as dpkg left them.
const stageFunc = `stage() {
	mkdir -p "$2"
	tar --numeric-owner --xattrs --xattrs-include='*' --same-permissions -xf "$1" -C "$2"
}
`

// unpackScript runs stageFunc on its arguments.
const unpackScript = "set -eu\n" + stageFunc + `stage "$1" "$2"` + "\n"

// The image is made in as few execs as the data flow allows: every exec is a snapshot
// the engine commits (and syncs) with the image and, worse, the staging tree in it.
// The staging tree lives on a tmpfs that no snapshot keeps.

// ext4MakeScript: stage $1 in $2, run the mkfs.ext4 argv after the first three
// arguments, and write dumpe2fs of the image $3 (which inodes mkfs used) next to it.
const ext4MakeScript = "set -eu\n" + stageFunc + `tarball=$1 staging=$2 img=$3
shift 3
stage "$tarball" "$staging"
mkdir -p "$(dirname "$img")"
"$@"
dumpe2fs "$img" >"$img.dumpe2fs" 2>/dev/null
`

// debugfsScript applies the time fixes $1 to the image $2 failing on any complaint:
// debugfs itself exits 0 whatever its commands did.
const debugfsScript = `set -eu
debugfs -w -f "$1" "$2" >/dev/null 2>/tmp/debugfs.err
if grep -v '^debugfs [0-9]' /tmp/debugfs.err >&2; then
	echo "guestforge: debugfs could not fix the inode times (above)" >&2
	exit 1
fi
`

// ext4FinishScript applies the inode time fixes $1 to the image $2 (debugfsScript),
// proves the result clean with e2fsck -fn and writes its sha256 to $2.sha256.
const ext4FinishScript = debugfsScript + `rm -f "$2.dumpe2fs"
e2fsck -fn "$2"
sha256sum "$2" >"$2.sha256"
stat -c %s "$2" >"$2.size"
`

// erofsScript: stage $1 in $2, run the mkfs.erofs argv after the first three
// arguments, align the image $3 to 1 MiB and write its sha256 to $3.sha256.
const erofsScript = "set -eu\n" + stageFunc + `tarball=$1 staging=$2 img=$3
shift 3
stage "$tarball" "$staging"
mkdir -p "$(dirname "$img")"
"$@"
truncate -s "%$ALIGN" "$img"
sha256sum "$img" >"$img.sha256"
stat -c %s "$img" >"$img.size"
`

// verityScript formats the hash tree $2 of the image $1 with the options after the
// first two arguments, keeps veritysetup's report in $2.txt and verifies the tree
// against the root hash it reported before anything ships.
const verityScript = `set -eu
img=$1 tree=$2
shift 2
veritysetup format "$@" "$img" "$tree" >"$tree.txt"
root=$(sed -n 's/^Root hash:[[:space:]]*//p' "$tree.txt")
veritysetup verify "$img" "$tree" "$root"
`

// kataVerityScript formats the hash tree $2 of the filesystem $1 as Kata's
// image_builder.sh does (--no-superblock: the tree starts at hash block 0 of p2,
// the table's hash start), with the options after the first two arguments,
// verifies it the way the guest's dm-verity table will read it, and records the
// tree's size for the layout.
const kataVerityScript = `set -eu
img=$1 tree=$2
shift 2
veritysetup format --no-superblock "$@" "$img" "$tree" >"$tree.txt"
root=$(sed -n 's/^Root hash:[[:space:]]*//p' "$tree.txt")
veritysetup verify --no-superblock "$@" "$img" "$tree" "$root"
stat -c %s "$tree" >"$tree.size"
`

// kataAssembleScript writes a Kata layout: $1 the image, $2 its size, $3/$4 the
// filesystem and its byte offset, $5/$6 the hash tree and its offset ("-" for
// none), then pairs of (sector-aligned byte offset, base64 file) for the tables
// and the DAX block (diskimage.Pieces). The image starts as a hole of its full
// size, so every gap reads as zeros, as diskimage.Write leaves it.
const kataAssembleScript = `set -eu
out=$1 size=$2 fs=$3 fsoff=$4 hash=$5 hashoff=$6
shift 6
rm -f "$out"
truncate -s "$size" "$out"
while [ $# -gt 0 ]; do
	base64 -d "$2" | dd of="$out" bs=512 seek=$(($1 / 512)) conv=notrunc status=none
	shift 2
done
dd if="$fs" of="$out" bs=1M seek=$((fsoff / 1048576)) conv=notrunc,sparse status=none
if [ "$hash" != - ]; then
	dd if="$hash" of="$out" bs=1M seek=$((hashoff / 1048576)) conv=notrunc,sparse status=none
fi
[ "$(stat -c %s "$out")" = "$size" ] || { echo "guestforge: $out grew past its planned $size bytes" >&2; exit 1; }
sha256sum "$out" >"$out.sha256"
`

// DiskImage makes the rootfs image of r in the image builder: ext4 (mkfs.ext4 -d,
// UUID and hash seed derived from the rootfs digest, every time fixed to the epoch) or
// erofs (mkfs.erofs with the same UUID rule and -T epoch), sized from the content and
// aligned to 1 MiB; e2fsck -fn must find it clean. With spec.Verity, veritysetup
// formats a hash tree with a salt and UUID derived from the image digest and verifies
// it. Output: <arch>/rootfs-<image>.img [+ .img.verity, verity-<image>.cmdline]; the
// arch's root_hash.txt lists every image of a build, see diskimage.RootHashFile.
func (p *Pipeline) DiskImage(ctx context.Context, repo *Repo, r *Rootfs, spec DiskSpec) (*DiskImage, error) {
	if _, err := ParseFS(string(spec.FS)); err != nil {
		return nil, err
	}
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	bspec, err := BuilderFromRepo(ctx, repo, "image", host)
	if err != nil {
		return nil, err
	}
	builder, err := p.Builder(ctx, bspec)
	if err != nil {
		return nil, err
	}
	builder = p.Perturb.Apply(builder)
	epoch := strconv.FormatInt(r.Epoch, 10)
	ctr := builder.
		WithEnvVariable("SOURCE_DATE_EPOCH", epoch).
		WithEnvVariable("E2FSPROGS_FAKE_TIME", epoch).
		WithEnvVariable("TZ", "UTC").
		WithEnvVariable("ALIGN", strconv.Itoa(diskimage.FilesystemAlign))
	if r.nonce != "" {
		ctr = ctr.WithEnvVariable("GUESTFORGE_NONCE", r.nonce)
	}
	ctr = ctr.WithMountedFile(diskIn, r.File).WithMountedTemp(diskStaging)
	img := r.Image.Name
	start := time.Now()
	switch spec.FS {
	case FSExt4:
		ctr, err = p.ext4(ctx, ctr, r)
	case FSErofs:
		mkfs := []string{"mkfs.erofs", "--quiet", "-U", diskimage.ContentUUID(r.SHA256, "erofs uuid"), "-T", epoch, diskOut, diskStaging}
		ctr = ctr.WithExec(append([]string{"sh", "-c", erofsScript, "sh", diskIn, diskStaging, diskOut}, mkfs...))
	}
	if err != nil {
		return nil, err
	}
	sum, err := ctr.File(diskOut + ".sha256").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: make the %s %s image: %w", img, r.Arch.Name, spec.FS, execDetail(err))
	}
	digest, _, _ := strings.Cut(sum, " ")
	if len(digest) != 64 {
		return nil, fmt.Errorf("image %s: sha256sum printed %q", img, sum)
	}
	out := &DiskImage{FS: spec.FS}
	out.SHA256 = digest
	layout, err := ParseDiskLayout(string(spec.Layout))
	if err != nil {
		return nil, err
	}
	var dir *dagger.Directory
	if layout == LayoutKata {
		dir, err = p.kataDisk(ctx, ctr, r, spec, digest, out)
	} else {
		dir, err = p.rawDisk(ctx, ctr, r, spec, digest, out)
	}
	if err != nil {
		return nil, err
	}
	out.Dir = dir.WithTimestamps(int(r.Epoch))
	p.Log.Info("image: built", "image", img, "arch", r.Arch.Name, "fs", spec.FS, "verity", spec.Verity,
		"layout", layout, "sha256", out.SHA256[:16], "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// rawDisk exports the bare filesystem as the image and, with spec.Verity, a hash
// tree file with a verity superblock and the dm-init command line that mounts the
// pair as two virtio disks (LayoutRaw).
func (p *Pipeline) rawDisk(ctx context.Context, ctr *dagger.Container, r *Rootfs, spec DiskSpec, digest string, out *DiskImage) (*dagger.Directory, error) {
	img := r.Image.Name
	dir := p.Client.Directory()
	name := path.Join(r.Arch.Name, artifact.RootfsImageName(img))
	if spec.Verity {
		ctr = ctr.WithExec([]string{"sh", "-c", verityScript, "sh", diskOut, diskVerity,
			"--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096",
			"--salt=" + diskimage.VeritySalt(digest), "--uuid=" + diskimage.ContentUUID(digest, "verity uuid")})
		format, err := ctr.File(diskVerity + ".txt").Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("image %s: veritysetup format and verify: %w", img, execDetail(err))
		}
		v, err := diskimage.ParseVerityFormat(format)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img, err)
		}
		out.Verity, out.Cmdline = &v, diskimage.VerityCmdline(v, spec.FS)
		vname := path.Join(r.Arch.Name, artifact.VerityTreeName(img))
		cname := path.Join(r.Arch.Name, artifact.VerityCmdlineName(img))
		// root_hash.txt of this image alone; All writes the arch's list over it.
		hname := path.Join(r.Arch.Name, artifact.RootHashName)
		// veritysetup creates the hash tree 0600; it is published like the image, and a
		// dist tree whose modes vary by file surprises whoever copies it to a web root.
		dir = dir.WithFile(vname, ctr.File(diskVerity), dagger.DirectoryWithFileOpts{Permissions: 0o644}).
			WithNewFile(cname, out.Cmdline+"\n").
			WithNewFile(hname, string(diskimage.RootHashFile(map[string]string{img: v.RootHash})))
		out.Files = append(out.Files, vname, cname, hname)
	}
	dir = dir.WithFile(name, ctr.File(diskOut))
	out.Files = append([]string{name}, out.Files...)
	return dir, nil
}

// kataDisk lays the filesystem out as Kata's runtime boots it (LayoutKata): with
// spec.Verity the hash tree made without a superblock becomes p2, and
// verity-<image>.params holds the kernel_verity_params value Kata's
// configuration.toml takes; verity-<image>.cmdline is the root part of the kernel
// command line Kata derives from it for a virtio-blk image. The layout is planned
// here (internal/diskimage) and written in the image builder with dd from the
// tables' bytes, so both front doors get the same image from the engine's cache.
func (p *Pipeline) kataDisk(ctx context.Context, ctr *dagger.Container, r *Rootfs, spec DiskSpec, digest string, out *DiskImage) (*dagger.Directory, error) {
	img := r.Image.Name
	fsSize, err := fileSize(ctx, ctr, diskOut+".size")
	if err != nil {
		return nil, fmt.Errorf("image %s: size of the %s filesystem: %w", img, spec.FS, err)
	}
	var ls diskimage.Spec
	ls.FilesystemSize = fsSize
	ls.DiskID = diskimage.DiskID(digest)
	var verity *diskimage.VerityInfo
	if spec.Verity {
		ctr = ctr.WithExec([]string{"sh", "-c", kataVerityScript, "sh", diskOut, diskHash,
			"--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096", "--salt=" + diskimage.VeritySalt(digest)})
		format, err := ctr.File(diskHash + ".txt").Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("image %s: veritysetup format --no-superblock and verify: %w", img, execDetail(err))
		}
		v, err := diskimage.ParseVerityFormat(format)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img, err)
		}
		if v.DataBlocks*v.DataBlockSize != fsSize {
			return nil, fmt.Errorf("image %s: veritysetup covered %d blocks of %d bytes, the filesystem has %d bytes", img, v.DataBlocks, v.DataBlockSize, fsSize)
		}
		if ls.HashTreeSize, err = fileSize(ctx, ctr, diskHash+".size"); err != nil {
			return nil, fmt.Errorf("image %s: size of the hash tree: %w", img, err)
		}
		verity = &v
	}
	l, err := diskimage.Plan(ls)
	if err != nil {
		return nil, fmt.Errorf("image %s: plan Kata's layout: %w", img, err)
	}
	pieces, err := diskimage.Pieces(l)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img, err)
	}
	hash, hashOff := "-", "0"
	if verity != nil {
		hash, hashOff = diskHash, strconv.FormatInt(l.HashTree.Offset, 10)
	}
	args := []string{"sh", "-c", kataAssembleScript, "sh", diskKata, strconv.FormatInt(l.Size, 10),
		diskOut, strconv.FormatInt(l.Filesystem.Offset, 10), hash, hashOff}
	for i, pc := range pieces {
		if pc.Offset%diskimage.SectorSize != 0 {
			return nil, fmt.Errorf("image %s: %s at byte %d is not sector-aligned", img, pc.What, pc.Offset)
		}
		file := fmt.Sprintf("%s/%d.b64", diskPieces, i)
		ctr = ctr.WithNewFile(file, base64.StdEncoding.EncodeToString(pc.Data))
		args = append(args, strconv.FormatInt(pc.Offset, 10), file)
	}
	ctr = ctr.WithExec(args)
	sum, err := ctr.File(diskKata + ".sha256").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: write Kata's layout (%d bytes): %w", img, l.Size, execDetail(err))
	}
	diskDigest, _, _ := strings.Cut(sum, " ")
	if len(diskDigest) != 64 {
		return nil, fmt.Errorf("image %s: sha256sum printed %q", img, sum)
	}
	// The artifact's digest is the disk's; the filesystem's stays the seed of its
	// identifiers (UUIDs, salt, disk id) so they follow the content.
	out.SHA256 = diskDigest
	out.Layout = &l
	dir := p.Client.Directory()
	name := path.Join(r.Arch.Name, artifact.RootfsImageName(img))
	dir = dir.WithFile(name, ctr.File(diskKata), dagger.DirectoryWithFileOpts{Permissions: 0o644})
	out.Files = []string{name}
	if verity != nil {
		vp := kata.VerityParams{RootHash: verity.RootHash, Salt: verity.Salt, DataBlocks: uint64(verity.DataBlocks),
			DataBlockSize: uint64(verity.DataBlockSize), HashBlockSize: uint64(verity.HashBlockSize)}
		if err := vp.Validate(); err != nil {
			return nil, fmt.Errorf("image %s: veritysetup's values are not a kernel_verity_params Kata accepts: %w", img, err)
		}
		root, err := kata.RootParams(string(spec.FS), true, false, &vp)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img, err)
		}
		out.Verity, out.VerityParams, out.Cmdline = verity, &vp, kata.JoinParams(root)
		pname := path.Join(r.Arch.Name, artifact.VerityParamsName(img))
		cname := path.Join(r.Arch.Name, artifact.VerityCmdlineName(img))
		hname := path.Join(r.Arch.Name, artifact.RootHashName)
		dir = dir.WithNewFile(pname, vp.Format()+"\n").
			WithNewFile(cname, out.Cmdline+"\n").
			WithNewFile(hname, string(diskimage.RootHashFile(map[string]string{img: verity.RootHash})))
		out.Files = append(out.Files, pname, cname, hname)
	}
	return dir, nil
}

// fileSize reads a size file the scripts write with stat -c %s.
func fileSize(ctx context.Context, ctr *dagger.Container, file string) (int64, error) {
	text, err := ctr.File(file).Contents(ctx)
	if err != nil {
		return 0, execDetail(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s says %q, not a size in bytes", file, text)
	}
	return n, nil
}

// ext4 makes the ext4 image in two execs: mkfs.ext4 -d from the staging tree with a
// pinned mke2fs.conf; then the access and change times mkfs copied from the staging
// tree set to the epoch on the inodes dumpe2fs says are used, and e2fsck -fn.
func (p *Pipeline) ext4(ctx context.Context, ctr *dagger.Container, r *Rootfs) (*dagger.Container, error) {
	layout := diskimage.PlanExt4(ext4Content(r.Stats))
	label := "gf-" + r.Image.Name
	if len(label) > 16 {
		label = label[:16]
	}
	mkfs := diskimage.Mkfs4Args(layout, diskimage.ContentUUID(r.SHA256, "ext4 uuid"), diskimage.ContentUUID(r.SHA256, "ext4 hash seed"), label, diskStaging, diskOut)
	ctr = ctr.WithNewFile(mke2fsPath, diskimage.Mke2fsConf).WithEnvVariable("MKE2FS_CONFIG", mke2fsPath).
		WithExec(append([]string{"sh", "-c", ext4MakeScript, "sh", diskIn, diskStaging, diskOut}, mkfs...))
	dump, err := ctr.File(diskOut + ".dumpe2fs").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: mkfs.ext4 of %s (%d inodes) for %s: %w", r.Image.Name, mib(layout.Bytes), layout.Inodes, r.Arch.Name, execDetail(err))
	}
	used, err := diskimage.UsedInodes(dump)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", r.Image.Name, err)
	}
	return ctr.WithNewFile(debugfsPath, diskimage.DebugfsTimes(used, r.Epoch)).
		WithExec([]string{"sh", "-c", ext4FinishScript, "sh", debugfsPath, diskOut}), nil
}

// ext4Content is what diskimage.PlanExt4 sizes the image of a finished rootfs from.
func ext4Content(st RootfsStats) diskimage.Ext4Content {
	return diskimage.Ext4Content{Entries: st.Entries, DataBlocks: st.DataBlocks, DirBlocks: st.DirBlocks, LongSymlinks: st.LongSymlinks}
}

// execDetail adds what a failed command printed to its error.
func execDetail(err error) error {
	var ee *dagger.ExecError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w\n%s", err, lastLines(strings.TrimSpace(ee.Stderr+"\n"+ee.Stdout), 20))
	}
	return err
}
