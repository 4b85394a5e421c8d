// Package sourcedate reads SOURCE_DATE_EPOCH, the reproducible-builds
// convention for "the time this build claims to be from"
// (https://reproducible-builds.org/specs/source-date-epoch/). Every front door
// that honours the variable parses it here, so they agree on what a valid
// value is and say the same thing about an invalid one. What an unset
// variable falls back to (toolchain.yaml's epoch, or 0) stays with the caller.
package sourcedate

import (
	"fmt"
	"os"
	"strconv"
)

// Env is the variable's name.
const Env = "SOURCE_DATE_EPOCH"

// Error is a SOURCE_DATE_EPOCH value that is not a decimal number of seconds.
// It unwraps to strconv's *NumError, which says whether the value is not a
// number or out of int64's range.
type Error struct {
	Value string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s=%q is not a number of seconds", Env, e.Value)
}

func (e *Error) Unwrap() error { return e.Err }

// Parse reads a SOURCE_DATE_EPOCH value: seconds since 1970-01-01 UTC, in
// decimal, with an optional sign. Whether a negative or zero time makes
// sense is the caller's to decide.
func Parse(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &Error{Value: v, Err: err}
	}
	return n, nil
}

// FromEnv is $SOURCE_DATE_EPOCH. set is false when the variable is unset or
// empty (the convention treats both as "not given"); a set value that is not
// a number is an *Error.
func FromEnv() (secs int64, set bool, err error) {
	v := os.Getenv(Env)
	if v == "" {
		return 0, false, nil
	}
	n, err := Parse(v)
	return n, true, err
}
