package diskimage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// Tests that hold the package's bytes against the tools Kata's image builder and a
// guest's userspace use: sfdisk (util-linux) for the tables, veritysetup for the
// hash partition. They need the tools; testenv skips locally and fails in CI.

// sfdiskPart is what `sfdisk --dump` prints for one partition, e.g.
// "img1 : start=        6144, size=       16384, type=83, bootable".
var sfdiskPart = regexp.MustCompile(`^\S+ : start=\s*(\d+), size=\s*(\d+), type=([0-9a-f]+)(, bootable)?$`)

func sfdiskDump(t *testing.T, sfdisk, path string) (labelID string, parts []string) {
	t.Helper()
	out, err := exec.Command(sfdisk, "--dump", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sfdisk --dump %s: %v\n%s", path, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "label-id:"); ok {
			labelID = strings.TrimSpace(v)
		}
		if m := sfdiskPart.FindStringSubmatch(line); m != nil {
			parts = append(parts, fmt.Sprintf("start=%s size=%s type=%s bootable=%t", m[1], m[2], m[3], m[4] != ""))
		}
	}
	if !strings.Contains(string(out), "label: dos") {
		t.Fatalf("sfdisk does not see an msdos table in %s:\n%s", path, out)
	}
	return labelID, parts
}

func TestSfdiskReadsBothTables(t *testing.T) {
	sfdisk := testenv.RequireTool(t, "sfdisk")
	const fsSize, hashSize = 8*MiB + 5*4096, 73728
	l, err := Plan(Spec{FilesystemSize: fsSize, HashTreeSize: hashSize, Alignment: 2 * MiB, DiskID: 0x6b617461})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := writeImage(t, filepath.Join(dir, "rootfs.img"), l, content(fsSize, 3), content(hashSize, 4))

	// MBR #1, what virtio-blk shows: p1 at 3 MiB (sector 6144), p2 at the MiB after
	// p1's end, 12 MiB (sector 24576); sizes in 512-byte sectors.
	label, parts := sfdiskDump(t, sfdisk, filepath.Join(dir, "rootfs.img"))
	if label != "0x6b617461" {
		t.Errorf("MBR #1 label-id %q, want 0x6b617461", label)
	}
	assertLines(t, "MBR #1", parts, []string{
		"start=6144 size=16424 type=83 bootable=true",
		"start=24576 size=144 type=83 bootable=false",
	})

	// MBR #2, what /dev/pmem0 shows: the image from the DAX data offset on.
	ns := filepath.Join(dir, "pmem0.img")
	if err := os.WriteFile(ns, img[2*MiB:], 0o644); err != nil {
		t.Fatal(err)
	}
	label, parts = sfdiskDump(t, sfdisk, ns)
	if label != "0x6b617461" {
		t.Errorf("MBR #2 label-id %q, want 0x6b617461", label)
	}
	assertLines(t, "MBR #2", parts, []string{
		"start=2048 size=16424 type=83 bootable=true",
		"start=20480 size=144 type=83 bootable=false",
	})
}

func assertLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: sfdisk sees\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// verityFormat runs `veritysetup format --no-superblock` as Kata's setup_verity does
// and returns the root hash.
func verityFormat(t *testing.T, veritysetup, data, hash, salt string) string {
	t.Helper()
	out, err := exec.Command(veritysetup, "format", "--no-superblock", "--salt="+salt, data, hash).CombinedOutput()
	if err != nil {
		t.Fatalf("veritysetup format: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Root hash:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("veritysetup format printed no root hash:\n%s", out)
	return ""
}

// extract copies partition p of disk into a file, as the kernel would expose it.
func extract(t *testing.T, disk []byte, p Partition, path string) {
	t.Helper()
	if p.End() > int64(len(disk)) {
		t.Fatalf("partition %d (bytes %d-%d) ends past the %d-byte disk", p.Number, p.Start, p.End(), len(disk))
	}
	if err := os.WriteFile(path, disk[p.Start:p.End()], 0o644); err != nil {
		t.Fatal(err)
	}
}

// verityVerify extracts p1 and p2 of disk by its table and runs veritysetup verify.
func verityVerify(t *testing.T, veritysetup string, disk []byte, salt, root string) ([]byte, error) {
	t.Helper()
	parts, err := ReadPartitions(bytes.NewReader(disk))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d partitions %+v, want p1 and p2", len(parts), parts)
	}
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "p1"), filepath.Join(dir, "p2")
	extract(t, disk, parts[0], p1)
	extract(t, disk, parts[1], p2)
	return exec.Command(veritysetup, "verify", "--no-superblock", "--salt="+salt, p1, p2, root).CombinedOutput()
}

func TestVeritysetupVerifiesPartitions(t *testing.T) {
	veritysetup := testenv.RequireTool(t, "veritysetup")
	const salt = "6775657374666f7267652074657374" // fixed, as the pipeline's derived salt
	dir := t.TempDir()
	data, hash := filepath.Join(dir, "fs.img"), filepath.Join(dir, "hash.img")
	const fsSize = 4*MiB + 3*4096 // not whole MiB, so p2 does not follow p1 directly
	if err := os.WriteFile(data, content(fsSize, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	root := verityFormat(t, veritysetup, data, hash, salt)
	st, err := os.Stat(hash)
	if err != nil {
		t.Fatal(err)
	}

	for _, skipDAX := range []bool{false, true} {
		t.Run(fmt.Sprintf("SkipDAXHeader=%t", skipDAX), func(t *testing.T) {
			l, err := Plan(Spec{FilesystemSize: fsSize, HashTreeSize: st.Size(), SkipDAXHeader: skipDAX, Alignment: MiB, DiskID: 1})
			if err != nil {
				t.Fatal(err)
			}
			img := writeImageFrom(t, filepath.Join(t.TempDir(), "rootfs.img"), l, data, hash)

			disks := map[string][]byte{"MBR #1": img}
			if !skipDAX {
				h, err := ReadDAX(bytes.NewReader(img))
				if err != nil {
					t.Fatal(err)
				}
				disks["MBR #2"] = img[h.DataOffset:]
			}
			for name, disk := range disks {
				if out, err := verityVerify(t, veritysetup, disk, salt, root); err != nil {
					t.Errorf("%s: veritysetup verify of p1/p2: %v\n%s", name, err, out)
				}
			}

			// p2 one sector late: what a wrong p2 offset gives the guest. The table
			// still parses; verification must fail.
			shifted := bytes.Clone(img)
			entry2 := mbrEntryOffset + mbrEntrySize
			lba := binary.LittleEndian.Uint32(shifted[entry2+8:])
			binary.LittleEndian.PutUint32(shifted[entry2+8:], lba+1)
			out, err := verityVerify(t, veritysetup, shifted, salt, root)
			if err == nil {
				t.Fatalf("veritysetup verify passed with p2 shifted by one sector:\n%s", out)
			}
			if !strings.Contains(string(out), "Verification failed") {
				t.Errorf("veritysetup verify with p2 shifted: %v, output lacks \"Verification failed\":\n%s", err, out)
			}
		})
	}
}

// writeImageFrom writes l with p1 and p2 streamed from files.
func writeImageFrom(t *testing.T, path string, l Layout, p1, p2 string) []byte {
	t.Helper()
	open := func(p string) io.Reader {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, l, open(p1), open(p2)); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
