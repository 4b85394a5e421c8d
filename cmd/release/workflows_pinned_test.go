package main

// Supply chain: a tag of a GitHub action can be moved to other code at any time, a commit
// SHA cannot (OpenSSF Scorecard's Pinned-Dependencies check). Every `uses:` of every
// workflow names a full commit SHA, with the release it is in a trailing comment so a
// reader (and a bump) knows what it is.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var (
	pinnedAction   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	versionComment = regexp.MustCompile(`^# v[0-9]+\.[0-9]+\.[0-9]+$`)
	pinnedImage    = regexp.MustCompile(`^docker://[^@]+@sha256:[0-9a-f]{64}$`)
)

// unpinnedUses returns one "file:line: ..." problem per `uses:` of the workflow in data
// that is not pinned by commit SHA with a version comment, and how many `uses:` it saw.
func unpinnedUses(file string, data []byte) (problems []string, seen int, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "uses" && v.Kind == yaml.ScalarNode {
					seen++
					if p := usesProblem(v.Value, v.LineComment); p != "" {
						problems = append(problems, fmt.Sprintf("%s:%d: uses: %s %s", file, v.Line, v.Value, p))
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return problems, seen, nil
}

// usesProblem says what is wrong with one `uses:` value and its line comment ("" if nothing).
func usesProblem(uses, comment string) string {
	switch {
	case strings.HasPrefix(uses, "./"):
		return "" // an action of this repository: pinned by the checkout itself
	case strings.HasPrefix(uses, "docker://"):
		if !pinnedImage.MatchString(uses) {
			return "is not pinned by digest: use docker://image@sha256:<64 hex>"
		}
		return ""
	case !pinnedAction.MatchString(uses):
		return "is not pinned to a commit: use owner/repo@<40-hex commit SHA> # vX.Y.Z (git ls-remote --tags the action's repo)"
	case !versionComment.MatchString(comment):
		return fmt.Sprintf("has no version comment (%q): end the line with # vX.Y.Z, the tag that SHA is", comment)
	}
	return ""
}

func TestWorkflowActionsPinnedBySHA(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflowsDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(workflowFiles) {
		t.Fatalf("found %v in %s; want at least %v", files, workflowsDir, workflowFiles)
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		problems, seen, err := unpinnedUses(filepath.Join(".github/workflows", filepath.Base(f)), data)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
		total += seen
	}
	if total < 10 {
		t.Errorf("saw %d uses: in %d workflows; the walk over the YAML is broken", total, len(files))
	}
}

// The checker itself: what it accepts and what it names, with file:line.
func TestUnpinnedUsesReportsFileAndLine(t *testing.T) {
	const sha = "11d5960a326750d5838078e36cf38b85af677262"
	wf := `on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@` + sha + ` # v4.4.0
      - uses: actions/checkout@v4
      - uses: actions/setup-go@` + sha + `
      - uses: actions/setup-go@` + sha + ` # v5
      - uses: actions/cache/save@` + sha + ` # v4.2.0
      - uses: actions/checkout@` + sha[:12] + ` # v4.4.0
      - uses: ./.github/actions/local
      - uses: docker://alpine:3.20
      - name: run only
        run: echo uses
  b:
    uses: owner/repo/.github/workflows/w.yaml@main
`
	problems, seen, err := unpinnedUses("w.yaml", []byte(wf))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"w.yaml:7: uses: actions/checkout@v4 is not pinned to a commit: use owner/repo@<40-hex commit SHA> # vX.Y.Z (git ls-remote --tags the action's repo)",
		`w.yaml:8: uses: actions/setup-go@` + sha + ` has no version comment (""): end the line with # vX.Y.Z, the tag that SHA is`,
		`w.yaml:9: uses: actions/setup-go@` + sha + ` has no version comment ("# v5"): end the line with # vX.Y.Z, the tag that SHA is`,
		"w.yaml:11: uses: actions/checkout@" + sha[:12] + " is not pinned to a commit: use owner/repo@<40-hex commit SHA> # vX.Y.Z (git ls-remote --tags the action's repo)",
		"w.yaml:13: uses: docker://alpine:3.20 is not pinned by digest: use docker://image@sha256:<64 hex>",
		"w.yaml:17: uses: owner/repo/.github/workflows/w.yaml@main is not pinned to a commit: use owner/repo@<40-hex commit SHA> # vX.Y.Z (git ls-remote --tags the action's repo)",
	}
	if seen != 9 {
		t.Errorf("saw %d uses:, want 9", seen)
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}
