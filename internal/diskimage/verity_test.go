package diskimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/guestforge/guestforge/internal/testenv"
)

// TestVerityTreeMatchesVeritysetup: the root hash and every byte of the hash tree
// are what the real `veritysetup format --no-superblock` writes, for one block
// (no tree), a single-level tree, a partial last hash block and three levels.
func TestVerityTreeMatchesVeritysetup(t *testing.T) {
	vs := testenv.RequireTool(t, "veritysetup")
	salt, _ := hex.DecodeString("7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069")
	rootLine := regexp.MustCompile(`(?m)^Root hash:\s*([0-9a-f]{64})$`)
	for _, blocks := range []int64{1, 100, 129, 16385} {
		t.Run(strconv.FormatInt(blocks, 10), func(t *testing.T) {
			dir := t.TempDir()
			data := make([]byte, blocks*4096)
			r := rand.New(rand.NewPCG(uint64(blocks), 7))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			dataFile, hashFile := filepath.Join(dir, "data"), filepath.Join(dir, "hash")
			if err := os.WriteFile(dataFile, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(vs, "format", "--no-superblock", "--hash=sha256", "--data-block-size=4096",
				"--hash-block-size=4096", "--salt="+hex.EncodeToString(salt), dataFile, hashFile).CombinedOutput()
			if err != nil {
				t.Fatalf("veritysetup format: %v\n%s", err, out)
			}
			m := rootLine.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no root hash in:\n%s", out)
			}
			root, tree, err := VerityTree(bytes.NewReader(data), VeritySpec{DataBlocks: blocks, DataBlockSize: 4096, HashBlockSize: 4096, Salt: salt})
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(root[:]); got != string(m[1]) {
				t.Fatalf("root %s, veritysetup %s", got, m[1])
			}
			want, _ := os.ReadFile(hashFile)
			if !bytes.Equal(tree, want[:min(len(want), len(tree))]) || len(bytes.TrimRight(want[len(tree):], "\x00")) != 0 {
				t.Fatalf("tree differs from veritysetup's (%d vs %d bytes)", len(tree), len(want))
			}
		})
	}
}

func TestVerityTreeRefuses(t *testing.T) {
	for _, s := range []VeritySpec{{DataBlocks: 0, DataBlockSize: 4096, HashBlockSize: 4096},
		{DataBlocks: 1, DataBlockSize: 4000, HashBlockSize: 4096}, {DataBlocks: 1, DataBlockSize: 4096, HashBlockSize: 256}} {
		if _, _, err := VerityTree(bytes.NewReader(make([]byte, 4096)), s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if _, _, err := VerityTree(bytes.NewReader(make([]byte, 4096)), VeritySpec{DataBlocks: 2, DataBlockSize: 4096, HashBlockSize: 4096}); err == nil {
		t.Error("a short data stream was accepted")
	}
	// One flipped data byte changes the root.
	data := make([]byte, 8*4096)
	a, _, _ := VerityTree(bytes.NewReader(data), VeritySpec{DataBlocks: 8, DataBlockSize: 4096, HashBlockSize: 4096})
	data[5*4096+17] ^= 1
	b, _, _ := VerityTree(bytes.NewReader(data), VeritySpec{DataBlocks: 8, DataBlockSize: 4096, HashBlockSize: 4096})
	if a == b || a == sha256.Sum256(nil) {
		t.Error("a flipped byte did not change the root hash")
	}
}
