package build

import "errors"

// Kinds of failure the front doors tell apart with errors.Is: the CLI exits 2 for
// ErrBadInput and 1 for ErrRefused (and for a *JobError). A kind adds no text: the
// message is the underlying error's own.
var (
	// ErrBadInput marks what the caller gave that cannot be built from: a flag, the
	// manifest or the trees beside it, the output directory.
	ErrBadInput = errors.New("bad input")
	// ErrRefused marks a build the support gate refuses: a removed target, one past its
	// removal date, or a target set whose every target is removed.
	ErrRefused = errors.New("refused by the support gate")
	// ErrEngine marks a Dagger engine that could not be reached.
	ErrEngine = errors.New("the Dagger engine could not be reached")
)

// kindError is err classified as kind.
type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

func badInput(err error) error { return &kindError{err: err, kind: ErrBadInput} }
func refused(err error) error  { return &kindError{err: err, kind: ErrRefused} }
