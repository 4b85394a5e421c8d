// Command release is the release manager's CLI. It holds no logic: each
// subcommand parses flags, calls internal/*, and prints.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK        = 0
	exitViolation = 1 // the check ran and found a problem (policy violation, verify failure)
	exitBadInput  = 2 // the check could not run: bad flags, unreadable or invalid input
)

// exitError carries a specific exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as exit code 2.
func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

// violation marks err as exit code 1.
func violation(err error) error { return &exitError{code: exitViolation, err: err} }

var rootCmd = &cobra.Command{
	Use:           "release",
	Short:         "Build, check, sign, publish and verify guestforge guest artifacts",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	err := rootCmd.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "release:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(exitBadInput)
}
