//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bootprobe runs inside a Linux guest only: build it with GOOS=linux")
	os.Exit(1)
}
