package build

import (
	"os"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/initrd"
)

func TestZZRealFixture(t *testing.T) {
	raw := os.Getenv("ZZ_RAW")
	if raw == "" {
		t.Skip()
	}
	fx := newFinishFixture(t)
	spec := fx.spec(initrd.InitSystemd)
	spec.Delete = []string{"/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale"}
	start := time.Now()
	out, st, err := finishFile(raw, t.TempDir(), spec, "x.tar")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("finish took %s, stats %+v removed=%d", time.Since(start), st, len(st.Removed))
	for _, r := range st.Removed { t.Log(r) }
	digest, _ := fileSHA256(out)
	start = time.Now()
	img := hostExt4(t, out, st, digest, true)
	fi, _ := os.Stat(img)
	t.Logf("ext4 took %s size %d MiB layout %+v", time.Since(start), fi.Size()>>20, PlanExt4(st))
	t.Log(run(t, nil, "sh", "-c", "dumpe2fs -h "+img+" 2>/dev/null | grep -E 'Free blocks|Free inodes|Block count|Inode count'"))
	start = time.Now()
	res, err := initrd.Build(initrd.Spec{Tar: out, Init: initrd.InitSystemd, Arch: spec.Arch, Compression: initrd.Compression(os.Getenv("ZZ_COMP")), Epoch: spec.Epoch}, img+".initrd")
	t.Logf("initrd took %s: %+v err=%v", time.Since(start), res, err)
}
