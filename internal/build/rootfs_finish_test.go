package build

import (
	"bytes"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/rootfs"
	"github.com/guestforge/guestforge/internal/rootfs/rootfstest"
)

// The disk image tests (diskimage_host_test.go) run the image recipe on the finished
// synthetic rootfs of internal/rootfs's tests; these are their handles on it.

func rawRootfs() []rootfstest.Member { return rootfstest.Raw() }

func writeRaw(t *testing.T, entries []rootfstest.Member, when time.Time) []byte {
	return rootfstest.WriteRaw(t, entries, when)
}

type finishFixture struct{ rootfstest.Fixture }

func newFinishFixture(t *testing.T) finishFixture { return finishFixture{rootfstest.NewFixture(t)} }

func (f finishFixture) spec(mode initrd.InitMode) rootfs.Spec {
	return rootfs.Spec{
		Image: "default", ImageFile: "images/default.yaml", Arch: arch.MustParse("x86_64"), Init: mode,
		Epoch: 1767225600, Delete: []string{"/usr/share/doc", "/usr/share/man"},
		Overlay: f.Overlay, Agent: f.Agent,
	}
}

func finish(t *testing.T, raw []byte, spec rootfs.Spec) ([]byte, RootfsStats) {
	t.Helper()
	var out bytes.Buffer
	st, err := rootfs.Finish(bytes.NewReader(raw), int64(len(raw)), &out, spec)
	if err != nil {
		t.Fatalf("rootfs.Finish: %v", err)
	}
	return out.Bytes(), st
}
