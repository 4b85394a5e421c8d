//go:build engine

package build

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/diskimage"
	"github.com/guestforge/guestforge/internal/kata"
	"github.com/guestforge/guestforge/internal/testenv"
)

// kataImage is a Kata-layout rootfs image taken apart the way Kata's guest sees it.
type kataImage struct {
	Parts  []diskimage.Partition // MBR #1, as virtio-blk sees it
	P1, P2 string                // the partitions' bytes, extracted to files
	Verity *kata.VerityParams    // nil without verity-<image>.params
}

var sfdiskLine = regexp.MustCompile(`^\S+?(\d+) : start=\s*(\d+), size=\s*(\d+), type=(\w+)(, bootable)?$`)

// checkKataImage proves img is what Kata's runtime expects with the real tools: sfdisk
// lists p1 (and p2) as the package says, the DAX header's second table describes the
// same partitions 2 MiB further on (what /dev/pmem0 shows), e2fsck -fn finds p1
// clean (ext4), and with a params file, veritysetup verify --no-superblock accepts
// p1/p2 with exactly the values Kata's configuration.toml would carry.
func checkKataImage(t *testing.T, img, paramsFile string, fs FS) kataImage {
	t.Helper()
	for _, tool := range []string{"sfdisk", "e2fsck", "veritysetup"} {
		testenv.RequireTool(t, tool)
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parts, err := diskimage.ReadPartitions(f)
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	out, err := exec.Command("sfdisk", "--dump", img).CombinedOutput()
	if err != nil {
		t.Fatalf("sfdisk --dump %s: %v\n%s", img, err, out)
	}
	var listed []diskimage.Partition
	for _, line := range strings.Split(string(out), "\n") {
		m := sfdiskLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		start, _ := strconv.ParseInt(m[2], 10, 64)
		size, _ := strconv.ParseInt(m[3], 10, 64)
		typ, _ := strconv.ParseUint(m[4], 16, 8)
		listed = append(listed, diskimage.Partition{Number: n, Bootable: m[5] != "", Type: byte(typ), Start: start * 512, Size: size * 512})
	}
	if fmt.Sprint(listed) != fmt.Sprint(parts) || len(parts) == 0 {
		t.Fatalf("sfdisk lists %v, the table says %v:\n%s", listed, parts, out)
	}
	dax, err := diskimage.ReadDAX(f)
	if err != nil {
		t.Fatalf("%s: %v", img, err)
	}
	inner, err := diskimage.ReadPartitions(io.NewSectionReader(f, int64(dax.DataOffset), 1<<40))
	if err != nil {
		t.Fatalf("%s: the table behind the DAX header: %v", img, err)
	}
	for i := range parts {
		if i >= len(inner) || inner[i].Start+int64(dax.DataOffset) != parts[i].Start || inner[i].Size != parts[i].Size {
			t.Fatalf("the DAX table %v is not the disk's %v shifted by %d", inner, parts, dax.DataOffset)
		}
	}
	k := kataImage{Parts: parts}
	dir := t.TempDir()
	extract := func(p diskimage.Partition) string {
		name := filepath.Join(dir, fmt.Sprintf("p%d", p.Number))
		w, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := io.Copy(w, io.NewSectionReader(f, p.Start, p.Size)); err != nil {
			t.Fatal(err)
		}
		return name
	}
	k.P1 = extract(parts[0])
	if fs == FSExt4 {
		if out, err := exec.Command("e2fsck", "-fn", k.P1).CombinedOutput(); err != nil {
			t.Errorf("e2fsck -fn p1 of %s: %v\n%s", img, err, out)
		}
	}
	if paramsFile == "" {
		if len(parts) != 1 {
			t.Fatalf("%s has %d partitions and no verity params", img, len(parts))
		}
		return k
	}
	text, err := os.ReadFile(paramsFile)
	if err != nil {
		t.Fatal(err)
	}
	if k.Verity, err = kata.ParseVerityParams(strings.TrimSuffix(string(text), "\n")); err != nil || k.Verity == nil {
		t.Fatalf("%s is not a kernel_verity_params value Kata accepts: %v", paramsFile, err)
	}
	if len(parts) != 2 || !parts[0].Bootable {
		t.Fatalf("%s: partitions %v, want p1 (bootable) and p2 for a measured rootfs", img, parts)
	}
	k.P2 = extract(parts[1])
	v := k.Verity
	if int64(v.DataBlocks*v.DataBlockSize) != parts[0].Size {
		t.Errorf("params cover %d blocks of %d, p1 has %d bytes", v.DataBlocks, v.DataBlockSize, parts[0].Size)
	}
	if out, err := exec.Command("veritysetup", "verify", "--no-superblock", "--hash=sha256",
		"--data-block-size="+strconv.FormatUint(v.DataBlockSize, 10), "--hash-block-size="+strconv.FormatUint(v.HashBlockSize, 10),
		"--data-blocks="+strconv.FormatUint(v.DataBlocks, 10), "--salt="+v.Salt, k.P1, k.P2, v.RootHash).CombinedOutput(); err != nil {
		t.Errorf("veritysetup verify --no-superblock p1 p2 of %s with %s: %v\n%s", img, paramsFile, err, out)
	}
	return k
}
