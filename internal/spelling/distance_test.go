package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"is not set", "is not set", 0}, {"is not  set", "is not set", 1},
		{"is not sett", "is not set", 1}, {"kernal", "kernel", 1}, {"toolchains", "toolchain", 1},
		{"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{string(make([]byte, 65)), "a", 1 << 20},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
