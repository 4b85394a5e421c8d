package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyBuildImportsDagger holds the first rule of docs/architecture.md: the CLI's
// packages reach the engine only through internal/build, so no package it links
// outside internal/build (and Dagger's own) imports dagger.io.
func TestOnlyBuildImportsDagger(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, "dagger.io/") || pkg == "github.com/guestforge/guestforge/internal/build" ||
			strings.HasPrefix(pkg, "github.com/guestforge/guestforge/internal/build/") {
			continue
		}
		checked++
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "dagger.io/") {
				t.Errorf("%s imports %s: only internal/build talks to the engine (docs/architecture.md)", pkg, imp)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("go list gave %d packages to check; expected the CLI's whole dependency graph", checked)
	}
}
