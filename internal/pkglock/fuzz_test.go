package pkglock

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the lock reader every build runs over a
// committed file: a lock or an error, never a panic, and a lock only when writing it
// and reading it back gives the same lock.
func FuzzParse(f *testing.F) {
	f.Add([]byte(golden))
	f.Add([]byte("lock 1\nkind seed\nname seed\nsuite bookworm\nmirror http://x\ninclude mmdebstrap\n"))
	f.Add([]byte("lock 1\n\narch amd64\ndate 2026-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.lock", data)
		if err != nil {
			return
		}
		out := Format(l)
		back, err := Parse("fuzz.lock", out)
		if err != nil {
			t.Fatalf("a parsed lock does not read back: %v\n%s", err, out)
		}
		if !bytes.Equal(Format(back), out) {
			t.Fatalf("write, read, write differs:\n%s\n%s", out, Format(back))
		}
	})
}
