package debrepo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// VerifyRelease checks the clearsigned InRelease file against an OpenPGP keyring (the
// binary .gpg format of /usr/share/keyrings) and returns the signed text. Only that text
// is trusted: every index and package hash comes from it.
func VerifyRelease(inRelease []byte, keyringPath string) ([]byte, error) {
	kf, err := os.Open(keyringPath)
	if err != nil {
		return nil, fmt.Errorf("open the archive keyring: %w (install debian-archive-keyring or set the keyring path)", err)
	}
	defer kf.Close()
	keyring, err := openpgp.ReadKeyRing(kf)
	if err != nil {
		return nil, fmt.Errorf("read the archive keyring %s: %w", keyringPath, err)
	}
	block, _ := clearsign.Decode(inRelease)
	if block == nil {
		return nil, fmt.Errorf("InRelease is not a clearsigned document")
	}
	if _, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(block.Bytes), block.ArmoredSignature.Body, nil); err != nil {
		return nil, fmt.Errorf("InRelease signature does not verify against %s: %w", keyringPath, err)
	}
	return block.Plaintext, nil
}

// ReleaseSHA256 returns the sha256 and size the Release text lists for path (for example
// main/binary-amd64/Packages.gz).
func ReleaseSHA256(release []byte, path string) (string, int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(release))
	in := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			in = strings.HasPrefix(line, "SHA256:")
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == path {
			var size int64
			if _, err := fmt.Sscan(f[1], &size); err != nil {
				return "", 0, fmt.Errorf("the Release file lists %s with a bad size %q", path, f[1])
			}
			return f[0], size, nil
		}
	}
	return "", 0, fmt.Errorf("the Release file lists no SHA256 for %s (wrong suite, component or architecture?)", path)
}
