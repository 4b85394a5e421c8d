package rootfs

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/rootfs/rootfstest"
)

// The finished tarball, its stats and the initrd packed from it are pinned by digest
// for a fixed input. The digests were computed on main at a3e49f1, before rootfs
// finishing moved out of internal/build onto the one tree type (issue 15): a change
// to any byte of a finished rootfs or its initrd fails here, whoever makes it. Update
// a digest only for a change that means to alter the output, and say so in the
// commit.
func TestFinishedRootfsPinnedDigests(t *testing.T) {
	cases := []struct {
		name             string
		mode             initrd.InitMode
		delete           []string
		tar, stats, cpio string
	}{
		{name: "agent", mode: initrd.InitAgent,
			tar:   "2d217653d2d3dd67bd2a220319ea7a90eec92020c496211d37574cc769fc2eaf",
			stats: "f1b822f4d4031ef114172622e95c10d0b4a266786a834a9bcf52298dd31c8d88",
			cpio:  "424a9525996791c9e252c8dbfbedd946932d8eb0906c7d84829c87817d351c78"},
		{name: "systemd", mode: initrd.InitSystemd,
			tar:   "e9876d3037b5a9ed6115dc2e4da7fe38fca3a370f62f09288edcd3958fa20783",
			stats: "087d453f117b5db9245058ed396d21e02bae493321bc6fe3e3f82c20aeb65c72",
			cpio:  "9ac82627f08d2ecd7723cf41c42b577f379b592506ab77f4f61de56d5f93ce3e"},
		{name: "hardlink leader deleted", mode: initrd.InitAgent, delete: []string{"/usr/bin/perl", "/usr/bin/aperl"},
			tar:   "e5dad13f1d83e756fbecd542044d0be362c5bf1ddf08e7ab578ac82450200e6f",
			stats: "f1a60e13b532f1c92b7f715a5ff90fa2af3cc2a0d0b54a1bce3efd81fd1cbe9f",
			cpio:  "45cde95add23a1eaa73871276ddbf744d3e503898b45e96786fb5db87dedae37"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := pinnedFixture(t)
			spec := fixtureSpec(fx, c.mode)
			spec.Delete = append(spec.Delete, c.delete...)
			raw := rootfstest.WriteRaw(t, pinnedRaw(), time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
			out, st := finish(t, raw, spec)
			tarball := filepath.Join(t.TempDir(), "rootfs.tar")
			if err := os.WriteFile(tarball, out, 0o644); err != nil {
				t.Fatal(err)
			}
			// The initrd pipeline's path (initrd.Build over the finished tarball) without
			// Validate, which wants a real systemd in systemd mode.
			f, err := os.Open(tarball)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tree, err := initrd.FromTar(f, initrd.Limits{})
			if err != nil {
				t.Fatalf("initrd.FromTar of the finished tarball: %v", err)
			}
			if err := initrd.ApplyInit(tree, c.mode, nil); err != nil {
				t.Fatal(err)
			}
			var cpio bytes.Buffer
			if _, err := initrd.Pack(&cpio, tree, initrd.WriteOptions{Epoch: spec.Epoch}, initrd.None); err != nil {
				t.Fatal(err)
			}
			got := [3]string{sha(out), sha([]byte(fmt.Sprintf("%+v", st))), sha(cpio.Bytes())}
			if want := [3]string{c.tar, c.stats, c.cpio}; got != want {
				t.Errorf("digests (tar, stats, cpio)\n got %q\nwant %q", got, want)
			}
		})
	}
}

// pinnedRaw is rawRootfs with the member kinds and modes it lacks: a block device, a
// fifo, and a symlink whose mode is not 0777 (finishing keeps the mode it was given).
func pinnedRaw() []rootfstest.Member {
	return append(rootfstest.Raw(),
		rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "./dev/vda", Mode: 0o660, Gid: 6, Devmajor: 254, Devminor: 0}},
		rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeDir, Name: "./run/", Mode: 0o755}},
		rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "./run/initctl", Mode: 0o600}},
		rootfstest.Member{Hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "./usr/bin/awk", Linkname: "/etc/alternatives/awk", Mode: 0o755, Uid: 7}},
	)
}

// pinnedFixture is newFinishFixture with every mode set explicitly, so the umask of
// the test run cannot reach the digests.
func pinnedFixture(t *testing.T) rootfstest.Fixture {
	t.Helper()
	fx := rootfstest.NewFixture(t)
	for _, p := range []string{"etc/hostname", "lib/systemd/system/extra.service"} {
		if err := os.Chmod(filepath.Join(fx.Overlay, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An overlay symlink, and an overlay file through the bin -> usr/bin link.
	if err := os.Symlink("/dev/null", filepath.Join(fx.Overlay, "etc", "motd")); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(fx.Overlay, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "hello"), []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(bin, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	return fx
}
