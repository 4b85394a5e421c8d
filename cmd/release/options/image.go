package options

import "github.com/spf13/pflag"

// ImageBuildOptions are how the matrix makes images: the rootfs image
// filesystem and the initrd compression.
type ImageBuildOptions struct {
	FS, Compress string
}

// AddFlags adds --fs and --compress, with the defaults of `make`.
func (o *ImageBuildOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.FS, "fs", "ext4", "rootfs image filesystem: ext4 or erofs")
	f.StringVar(&o.Compress, "compress", "zstd", "initrd compression: zstd, gzip or none")
}
