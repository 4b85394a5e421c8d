package changes

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Commit is one entry of the change list.
type Commit struct {
	Hash    string    `json:"hash"`
	Author  string    `json:"author"`
	Date    time.Time `json:"date"`
	Subject string    `json:"subject"`
	Body    string    `json:"-"`
	Files   []string  `json:"files,omitempty"`

	// Set by Classify.
	Type        string `json:"type"`            // conventional-commit type, or "other"
	Scope       string `json:"scope,omitempty"` // the (scope) of the subject
	Breaking    bool   `json:"breaking,omitempty"`
	Description string `json:"description"` // subject without type, scope and PR references
	PRs         []int  `json:"prs,omitempty"`
	Area        string `json:"area"`
}

// typeTitles lists the conventional-commit types we group by, in the order
// the notes show them; anything else is "other".
var typeTitles = []struct{ Type, Title string }{
	{"feat", "Features"},
	{"fix", "Fixes"},
	{"perf", "Performance"},
	{"revert", "Reverts"},
	{"refactor", "Refactoring"},
	{"docs", "Documentation"},
	{"test", "Tests"},
	{"build", "Build"},
	{"ci", "CI"},
	{"chore", "Chores"},
	{"style", "Style"},
	{"other", "Other changes"},
}

func typeRank(typ string) int {
	for i, t := range typeTitles {
		if t.Type == typ {
			return i
		}
	}
	return len(typeTitles)
}

// areaRules map path prefixes to areas of the tree (docs/architecture.md's layout);
// the first matching prefix wins, so more specific prefixes come first.
// The order of Areas is the order the notes show them.
var areaRules = []struct{ Prefix, Area string }{
	{"kernel-configs/", "kernel"},
	{"internal/kconfig/", "kernel"},
	{"images/", "images"},
	{"internal/initrd/", "images"},
	{"cmd/bootprobe/", "images"},
	{"internal/build/", "pipelines"},
	{"ci/", "pipelines"},
	{"hack/airgap/", "pipelines"},
	{"toolchain.yaml", "toolchain"},
	{"internal/policy/", "toolchain"},
	{"internal/manifest/", "toolchain"},
	{"internal/release/", "release"},
	{"cmd/release/", "release"},
	{".github/", "ci"},
	{".ci/", "ci"},
	{"docs/", "docs"},
	{"README.md", "docs"},
	{"hack/", "tooling"},
	{"Makefile", "tooling"},
	{"go.mod", "tooling"},
	{"go.sum", "tooling"},
}

// Areas is the display order of areas.
var Areas = []string{"kernel", "images", "pipelines", "toolchain", "release", "ci", "docs", "tooling", "other"}

// AreaOf returns the area a path belongs to.
func AreaOf(path string) string {
	for _, r := range areaRules {
		if path == r.Prefix || (strings.HasSuffix(r.Prefix, "/") && strings.HasPrefix(path, r.Prefix)) {
			return r.Area
		}
	}
	return "other"
}

var (
	// type(scope)!: description
	conventional = regexp.MustCompile(`^([a-zA-Z]+)(?:\(([^()]*)\))?(!)?:\s+(.+)$`)
	// "(#123)" as GitHub's squash merge writes it; several are allowed.
	prRef = regexp.MustCompile(`\s*\(#([0-9]+)\)`)
	// GitHub's merge commit subject.
	mergePR = regexp.MustCompile(`^Merge pull request #([0-9]+) from \S+`)
)

// Classify fills in the derived fields of c from its subject, body and files.
func Classify(c Commit) Commit {
	subject := c.Subject
	c.PRs = nil
	if m := mergePR.FindStringSubmatch(subject); m != nil {
		n, _ := strconv.Atoi(m[1])
		c.PRs = append(c.PRs, n)
		// The pull request's title is the first line of the merge body.
		title, _, _ := strings.Cut(c.Body, "\n")
		if title = strings.TrimSpace(title); title != "" {
			subject = title
		}
	}
	for _, m := range prRef.FindAllStringSubmatch(subject, -1) {
		n, _ := strconv.Atoi(m[1])
		if !slices.Contains(c.PRs, n) {
			c.PRs = append(c.PRs, n)
		}
	}
	subject = strings.TrimSpace(prRef.ReplaceAllString(subject, ""))

	c.Type, c.Scope, c.Breaking, c.Description = "other", "", false, subject
	if m := conventional.FindStringSubmatch(subject); m != nil && typeRank(strings.ToLower(m[1])) < len(typeTitles)-1 {
		c.Type = strings.ToLower(m[1])
		c.Scope = m[2]
		c.Breaking = m[3] == "!"
		c.Description = m[4]
	}
	if strings.Contains(c.Body, "BREAKING CHANGE:") || strings.Contains(c.Body, "BREAKING-CHANGE:") {
		c.Breaking = true
	}
	c.Area = areaOfFiles(c.Files)
	return c
}

// areaOfFiles picks the area most of the files belong to; ties go to the
// area listed first in Areas, so the choice is stable.
func areaOfFiles(files []string) string {
	if len(files) == 0 {
		return "other"
	}
	count := map[string]int{}
	for _, f := range files {
		count[AreaOf(f)]++
	}
	best := ""
	for _, a := range Areas {
		if count[a] > count[best] {
			best = a
		}
	}
	return best
}
