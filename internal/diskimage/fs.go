package diskimage

import "fmt"

// FS is a rootfs image's filesystem: what p1 of a Kata image (or the whole raw
// image) is formatted as.
type FS string

// Filesystems a rootfs image can be written as.
const (
	FSExt4  FS = "ext4"
	FSErofs FS = "erofs"
)

// ParseFS validates an --fs value.
func ParseFS(s string) (FS, error) {
	switch f := FS(s); f {
	case FSExt4, FSErofs:
		return f, nil
	}
	return "", fmt.Errorf("unknown filesystem %q: use ext4 or erofs", s)
}

// FilesystemAlign is what every filesystem image is padded to: partitions and
// block devices like whole MiB.
const FilesystemAlign = MiB
