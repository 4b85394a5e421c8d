package sourcedate

import (
	"errors"
	"strconv"
	"testing"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name, value string
		want        int64
		set         bool
		err         string // the whole message; "" for no error
		cause       error  // what the error unwraps to
	}{
		{name: "unset is empty", value: "", set: false},
		{name: "seconds", value: "1767225600", want: 1767225600, set: true},
		{name: "zero", value: "0", want: 0, set: true},
		{name: "negative", value: "-86400", want: -86400, set: true},
		{name: "plus sign", value: "+5", want: 5, set: true},
		{name: "word", value: "yesterday", set: true, err: `SOURCE_DATE_EPOCH="yesterday" is not a number of seconds`, cause: strconv.ErrSyntax},
		{name: "trailing garbage", value: "12abc", set: true, err: `SOURCE_DATE_EPOCH="12abc" is not a number of seconds`, cause: strconv.ErrSyntax},
		{name: "fraction", value: "1.5", set: true, err: `SOURCE_DATE_EPOCH="1.5" is not a number of seconds`, cause: strconv.ErrSyntax},
		{name: "space", value: " 12", set: true, err: `SOURCE_DATE_EPOCH=" 12" is not a number of seconds`, cause: strconv.ErrSyntax},
		{name: "hex", value: "0x10", set: true, err: `SOURCE_DATE_EPOCH="0x10" is not a number of seconds`, cause: strconv.ErrSyntax},
		{name: "out of range", value: "99999999999999999999", set: true, err: `SOURCE_DATE_EPOCH="99999999999999999999" is not a number of seconds`, cause: strconv.ErrRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(Env, tc.value)
			got, set, err := FromEnv()
			if set != tc.set {
				t.Errorf("set = %v, want %v", set, tc.set)
			}
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Errorf("FromEnv() = %d, %v; want %d", got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.err {
				t.Fatalf("error %v\nwant %s", err, tc.err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Value != tc.value || !errors.Is(err, tc.cause) {
				t.Errorf("error %#v: want an *Error for %q unwrapping to %v", err, tc.value, tc.cause)
			}
			if got != 0 {
				t.Errorf("an invalid value gave %d, want 0", got)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if n, err := Parse("86400"); err != nil || n != 86400 {
		t.Errorf("Parse(86400) = %d, %v", n, err)
	}
	// An empty value is "unset" only to FromEnv; handed to Parse it is not a number.
	if _, err := Parse(""); err == nil || err.Error() != `SOURCE_DATE_EPOCH="" is not a number of seconds` {
		t.Errorf("Parse(\"\") = %v", err)
	}
}
