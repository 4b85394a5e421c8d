package build

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"dagger.io/dagger"
)

// DiskSpec says how a rootfs becomes a disk image.
type DiskSpec struct {
	FS FS
	// Verity adds a dm-verity hash tree (rootfs-<image>.img.verity), the root hash and
	// the kernel command line that mounts the image through it.
	Verity bool
}

// DiskImage is a built rootfs image.
type DiskImage struct {
	Artifact
	FS FS
	// Verity is set when the image has a hash tree; Cmdline is the kernel command line
	// fragment for it (also written to verity-<image>.cmdline).
	Verity  *VerityInfo
	Cmdline string
}

// Fixed paths inside the image builder.
const (
	diskIn      = "/in/rootfs.tar"
	diskStaging = "/rootfs"
	diskOut     = "/out/rootfs.img"
	diskVerity  = "/out/rootfs.img.verity"
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

// DiskImage makes the rootfs image of r in the image builder: ext4 (mkfs.ext4 -d,
// UUID and hash seed derived from the rootfs digest, every time fixed to the epoch) or
// erofs (mkfs.erofs with the same UUID rule and -T epoch), sized from the content and
// aligned to 1 MiB; e2fsck -fn must find it clean. With spec.Verity, veritysetup
// formats a hash tree with a salt and UUID derived from the image digest and verifies
// it. Output: <arch>/rootfs-<image>.img [+ .img.verity, verity-<image>.cmdline]; the
// arch's root_hash.txt lists every image of a build, see RootHashFile.
func (p *Pipeline) DiskImage(ctx context.Context, repo *Repo, r *Rootfs, spec DiskSpec) (*DiskImage, error) {
	if _, err := ParseFS(string(spec.FS)); err != nil {
		return nil, err
	}
	host, err := p.enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	bspec, err := BuilderFromManifest(repo.Toolchain, "image", host)
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
		WithEnvVariable("ALIGN", strconv.Itoa(imageAlign))
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
		mkfs := []string{"mkfs.erofs", "--quiet", "-U", ContentUUID(r.SHA256, "erofs uuid"), "-T", epoch, diskOut, diskStaging}
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
	dir := p.Client.Directory()
	name := path.Join(r.Arch.Name, RootfsImageName(img))
	if spec.Verity {
		ctr = ctr.WithExec([]string{"sh", "-c", verityScript, "sh", diskOut, diskVerity,
			"--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096",
			"--salt=" + VeritySalt(digest), "--uuid=" + ContentUUID(digest, "verity uuid")})
		format, err := ctr.File(diskVerity + ".txt").Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("image %s: veritysetup format and verify: %w", img, execDetail(err))
		}
		v, err := ParseVerityFormat(format)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img, err)
		}
		out.Verity, out.Cmdline = &v, VerityCmdline(v, spec.FS)
		vname := path.Join(r.Arch.Name, VerityTreeName(img))
		cname := path.Join(r.Arch.Name, VerityCmdlineName(img))
		// root_hash.txt of this image alone; All writes the arch's list over it.
		hname := path.Join(r.Arch.Name, RootHashName)
		// veritysetup creates the hash tree 0600; it is published like the image, and a
		// dist tree whose modes vary by file surprises whoever copies it to a web root.
		dir = dir.WithFile(vname, ctr.File(diskVerity), dagger.DirectoryWithFileOpts{Permissions: 0o644}).
			WithNewFile(cname, out.Cmdline+"\n").
			WithNewFile(hname, string(RootHashFile(map[string]string{img: v.RootHash})))
		out.Files = append(out.Files, vname, cname, hname)
	}
	dir = dir.WithFile(name, ctr.File(diskOut))
	out.Files = append([]string{name}, out.Files...)
	out.Dir = dir.WithTimestamps(int(r.Epoch))
	p.Log.Info("image: built", "image", img, "arch", r.Arch.Name, "fs", spec.FS, "verity", spec.Verity,
		"sha256", digest[:16], "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// ext4 makes the ext4 image in two execs: mkfs.ext4 -d from the staging tree with a
// pinned mke2fs.conf; then the access and change times mkfs copied from the staging
// tree set to the epoch on the inodes dumpe2fs says are used, and e2fsck -fn.
func (p *Pipeline) ext4(ctx context.Context, ctr *dagger.Container, r *Rootfs) (*dagger.Container, error) {
	layout := PlanExt4(r.Stats)
	label := "gf-" + r.Image.Name
	if len(label) > 16 {
		label = label[:16]
	}
	mkfs := Mkfs4Args(layout, ContentUUID(r.SHA256, "ext4 uuid"), ContentUUID(r.SHA256, "ext4 hash seed"), label, diskStaging, diskOut)
	ctr = ctr.WithNewFile(mke2fsPath, mke2fsConf).WithEnvVariable("MKE2FS_CONFIG", mke2fsPath).
		WithExec(append([]string{"sh", "-c", ext4MakeScript, "sh", diskIn, diskStaging, diskOut}, mkfs...))
	dump, err := ctr.File(diskOut + ".dumpe2fs").Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s: mkfs.ext4 of %s (%d inodes) for %s: %w", r.Image.Name, mib(layout.Bytes), layout.Inodes, r.Arch.Name, execDetail(err))
	}
	used, err := UsedInodes(dump)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", r.Image.Name, err)
	}
	return ctr.WithNewFile(debugfsPath, DebugfsTimes(used, r.Epoch)).
		WithExec([]string{"sh", "-c", ext4FinishScript, "sh", debugfsPath, diskOut}), nil
}

// execDetail adds what a failed command printed to its error.
func execDetail(err error) error {
	var ee *dagger.ExecError
	if errors.As(err, &ee) {
		return fmt.Errorf("%w\n%s", err, lastLines(strings.TrimSpace(ee.Stderr+"\n"+ee.Stdout), 20))
	}
	return err
}
