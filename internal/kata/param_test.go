package kata

import (
	"reflect"
	"testing"
)

func TestSplitParams(t *testing.T) {
	got := SplitParams(`  quiet a=b=c  dm-mod.create="x y,z" key= "q r" `)
	want := []Param{{"quiet", ""}, {"a", "b=c"}, {"dm-mod.create", `"x y,z"`}, {"key", ""}, {`"q r"`, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SplitParams:\n got %#v\nwant %#v", got, want)
	}
	// key= loses its '=' on the way back, as it does in Kata.
	if s := JoinParams(got); s != `quiet a=b=c dm-mod.create="x y,z" key "q r"` {
		t.Fatalf("JoinParams = %q", s)
	}
	if s := JoinParams([]Param{{}, {"", "bare"}, {"k", ""}}); s != "bare k" {
		t.Fatalf("JoinParams skips empty pairs: got %q", s)
	}
	if got := SplitParams("   "); len(got) != 0 {
		t.Fatalf("SplitParams of blanks = %#v, want none", got)
	}
}
