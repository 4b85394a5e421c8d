// Command funclen reports the Go functions of the given directories that are longer
// than -max lines, function literals included (a cobra RunE is a literal, and it is
// where front-door logic hides), longest first:
//
//	go run ./hack/funclen -max 40 ./cmd/... ./ci
//
// Lines run from the func keyword to the closing brace. Test files are left out.
// With -fail it exits 1 when any function is over the limit: `make funclen` holds
// the front doors to 40 lines (docs/architecture.md, rule 2).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/guestforge/guestforge/hack/funclen/length"
)

func main() {
	max := flag.Int("max", 40, "report functions longer than this many lines")
	fail := flag.Bool("fail", false, "exit 1 when any function is over -max")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: funclen [-max N] [-fail] dir|dir/... ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(os.Stdout, os.Stderr, *max, *fail, flag.Args()))
}

func run(stdout, stderr io.Writer, max int, fail bool, patterns []string) int {
	funcs, err := length.Dirs(patterns)
	if err != nil {
		fmt.Fprintln(stderr, "funclen:", err)
		return 2
	}
	over := length.Over(funcs, max)
	for _, f := range over {
		fmt.Fprintf(stdout, "%s:%d: %s %d lines\n", f.File, f.Line, f.Name, f.Lines)
	}
	fmt.Fprintf(stdout, "%d of %d functions over %d lines\n", len(over), len(funcs), max)
	if fail && len(over) > 0 {
		return 1
	}
	return 0
}
