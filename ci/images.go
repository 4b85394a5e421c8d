package main

// Guest image functions: thin wrappers over internal/build's rootfs, initrd, disk image
// and matrix pipelines.
//
//	dagger call rootfs --arch=aarch64 --image=default export --path=dist/
//	dagger call initrd --arch=x86_64 --image=systemd export --path=dist/
//	dagger call image --arch=x86_64 --image=default --fs=ext4 --verity export --path=dist/
//	dagger call all --arch=x86_64 export --path=dist/
//	dagger call all --kernel-variant=targets export --path=dist/

import (
	"cmp"
	"context"
	"os"

	lib "dagger.io/dagger"

	"github.com/guestforge/guestforge/ci/internal/dagger"
	gfarch "github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/build"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/katastatic"
	"github.com/guestforge/guestforge/internal/sourcedate"
)

// Rootfs builds an image's root filesystem for one architecture and returns
// <arch>/rootfs-<image>.tar: the normalised tarball the initrd and disk image are made
// from.
func (m *Guestforge) Rootfs(
	ctx context.Context,
	// x86_64, aarch64, s390x or ppc64le
	// +default="x86_64"
	arch string,
	// an images/<name>.yaml definition
	// +default="default"
	image string,
) (*dagger.Directory, error) {
	return m.images(ctx, func(ctx context.Context, c *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		a, err := gfarch.Parse(arch)
		if err != nil {
			return nil, err
		}
		r, err := p.Rootfs(ctx, repo, build.RootfsSpec{Arch: a, Image: image})
		if err != nil {
			return nil, err
		}
		return r.Dir(c), nil
	})
}

// Initrd builds an image's initrd for one architecture: <arch>/initrd-<image>.img.
func (m *Guestforge) Initrd(
	ctx context.Context,
	// x86_64, aarch64, s390x or ppc64le
	// +default="x86_64"
	arch string,
	// an images/<name>.yaml definition
	// +default="default"
	image string,
	// zstd, gzip or none
	// +default="zstd"
	compress string,
) (*dagger.Directory, error) {
	return m.images(ctx, func(ctx context.Context, c *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		a, err := gfarch.Parse(arch)
		if err != nil {
			return nil, err
		}
		comp, err := initrd.ParseCompression(compress)
		if err != nil {
			return nil, err
		}
		r, err := p.Rootfs(ctx, repo, build.RootfsSpec{Arch: a, Image: image})
		if err != nil {
			return nil, err
		}
		art, err := p.Initrd(ctx, r, build.InitrdSpec{Compression: comp})
		if err != nil {
			return nil, err
		}
		return art.Dir, nil
	})
}

// Image builds an image's rootfs disk image for one architecture in Kata's layout:
// <arch>/rootfs-<image>.img (msdos table, p1 the filesystem, with --verity p2 the hash
// tree), with --verity also verity-<image>.params (Kata's kernel_verity_params),
// root_hash.txt and verity-<image>.cmdline (the root parameters Kata derives).
func (m *Guestforge) Image(
	ctx context.Context,
	// x86_64, aarch64, s390x or ppc64le
	// +default="x86_64"
	arch string,
	// an images/<name>.yaml definition
	// +default="default"
	image string,
	// ext4 or erofs
	// +default="ext4"
	fs string,
	// add a dm-verity hash tree
	// +optional
	verity bool,
) (*dagger.Directory, error) {
	return m.images(ctx, func(ctx context.Context, c *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		a, err := gfarch.Parse(arch)
		if err != nil {
			return nil, err
		}
		f, err := build.ParseFS(fs)
		if err != nil {
			return nil, err
		}
		r, err := p.Rootfs(ctx, repo, build.RootfsSpec{Arch: a, Image: image})
		if err != nil {
			return nil, err
		}
		d, err := p.DiskImage(ctx, repo, r, build.DiskSpec{FS: f, Verity: verity})
		if err != nil {
			return nil, err
		}
		return d.Dir, nil
	})
}

// All builds the matrix of toolchain.yaml's targets in parallel: for every selected
// arch its kernel and, for every image its targets list, the initrd and the rootfs
// image. The result is laid out as <arch>/vmlinuz-..., initrd-<image>.img,
// rootfs-<image>.img (Kata's layout; + verity-<image>.params and .cmdline), root_hash.txt.
//
// Like `make` (and `repro`), it builds the test kernel, the smallest bootable one
// (minutes on two cores), unless --kernel-variant=targets asks for the kernels the
// targets ship (default, confidential, debug: hours on a small machine); the initrds
// and images are the real ones either way.
func (m *Guestforge) All(
	ctx context.Context,
	// architectures to build (default: every arch a target names)
	// +optional
	arch []string,
	// deprecated: the old name of --arch, added to it
	// +optional
	arches []string,
	// kernel config variant for every arch; "targets" builds each target's own variant
	// +default="test"
	kernelVariant string,
	// ext4 or erofs
	// +default="ext4"
	fs string,
	// leave the dm-verity hash trees out
	// +optional
	noVerity bool,
	// zstd, gzip or none
	// +default="zstd"
	compress string,
	// the day deprecated targets are judged on, YYYY-MM-DD (default: today, UTC)
	// +optional
	asOf string,
) (*dagger.Directory, error) {
	return m.images(ctx, func(ctx context.Context, c *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		spec, err := matrixSpec(fs, compress, asOf)
		if err != nil {
			return nil, err
		}
		spec.Arches, spec.KernelVariant, spec.Verity = append(arch, arches...), build.KernelVariantArg(kernelVariant), !noVerity
		return p.All(ctx, repo, spec)
	})
}

// matrixSpec parses the image and date arguments of a matrix build.
func matrixSpec(fs, compress, asOf string) (build.MatrixSpec, error) {
	f, err := build.ParseFS(fs)
	if err != nil {
		return build.MatrixSpec{}, err
	}
	comp, err := initrd.ParseCompression(compress)
	if err != nil {
		return build.MatrixSpec{}, err
	}
	day, err := policy.ParseAsOf(asOf)
	return build.MatrixSpec{FS: f, Compression: comp, AsOf: day}, err
}

// images runs fn with a library client of this session, the pipeline and the
// checkout, and hands fn's directory back to the module by ID.
func (m *Guestforge) images(ctx context.Context, fn func(context.Context, *lib.Client, *build.Pipeline, *build.Repo) (*lib.Directory, error)) (*dagger.Directory, error) {
	s, err := m.session(ctx, os.Stderr)
	if err != nil {
		return nil, err
	}
	defer s.client.Close()
	dir, err := fn(ctx, s.client, s.pipeline, s.repo)
	if err != nil {
		return nil, err
	}
	// Evaluate here, while the files this process made (finished rootfs, initrds) can
	// still be read from it.
	if dir, err = dir.Sync(ctx); err != nil {
		return nil, err
	}
	id, err := dir.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}

// KataStatic builds one arch's kernel, initrds and images (as All does) and returns
// kata-static-<arch>.tar: the tree kata-deploy installs under
// /opt/kata/share/kata-containers/ with Kata's names and symlinks, byte-identical to
// `release export --layout kata-static` of the same build.
//
//	dagger call kata-static --arch=x86_64 export --path=dist/
func (m *Guestforge) KataStatic(
	ctx context.Context,
	// x86_64, aarch64, s390x or ppc64le
	// +default="x86_64"
	arch string,
	// kernel config variant; "targets" builds the arch's targets' own variants
	// +default="test"
	kernelVariant string,
	// the image installed as kata-containers.img
	// +default="systemd"
	image string,
	// the image whose initrd is installed as kata-containers-initrd.img
	// +default="default"
	initrdImage string,
	// the image installed as kata-containers-confidential.img
	// +optional
	confidentialImage string,
	// the day deprecated targets are judged on, YYYY-MM-DD (default: today, UTC)
	// +optional
	asOf string,
	// every member's mtime, as $SOURCE_DATE_EPOCH for `release export` (default: toolchain.yaml's epoch)
	// +optional
	sourceDateEpoch string,
) (*dagger.Directory, error) {
	o := katastatic.Options{Arch: arch, Image: image, Initrd: initrdImage, ConfidentialImage: confidentialImage,
		TestAsDefault: kernelVariant == "test"}
	return m.images(ctx, func(ctx context.Context, c *lib.Client, p *build.Pipeline, repo *build.Repo) (*lib.Directory, error) {
		day, err := policy.ParseAsOf(asOf)
		if err != nil {
			return nil, err
		}
		d, err := p.All(ctx, repo, build.MatrixSpec{Arches: []string{arch}, KernelVariant: build.KernelVariantArg(kernelVariant),
			FS: build.FSExt4, Verity: true, Compression: initrd.Zstd, AsOf: day})
		if err != nil {
			return nil, err
		}
		return kataStaticTarball(ctx, p, repo, d, o, sourceDateEpoch)
	})
}

// kataStaticTarball writes the tarball of the built tree d: its mtimes
// sourceDateEpoch, else this process's $SOURCE_DATE_EPOCH, else toolchain.yaml's
// epoch (as `release export`), and the kernel names from the checkout.
func kataStaticTarball(ctx context.Context, p *build.Pipeline, repo *build.Repo, d *lib.Directory, o katastatic.Options, sourceDateEpoch string) (*lib.Directory, error) {
	if v := cmp.Or(sourceDateEpoch, os.Getenv(sourcedate.Env)); v != "" {
		secs, err := sourcedate.Parse(v)
		if err != nil {
			return nil, err
		}
		o.Epoch = secs
	}
	if err := o.Fill(repo.Toolchain, repo.Configs); err != nil {
		return nil, err
	}
	return p.KataStatic(ctx, d, o)
}
