// Package changes reads what happened since the last release from git: the
// tags (for the version decision), and the commits since a tag, grouped by
// area of the tree and by conventional-commit type, with PR numbers.
//
// Reading git is the only side of this package that touches the outside;
// parsing and grouping are pure functions over the log text.
package changes

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/guestforge/guestforge/internal/release/version"
)

// git runs one git command in repo and returns its stdout.
func git(ctx context.Context, repo string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	// A fixed locale keeps dates and messages parseable whatever the
	// caller's environment.
	cmd.Env = append(cmd.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), repo, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Head returns the commit HEAD points at.
func Head(ctx context.Context, repo string) (string, error) {
	out, err := git(ctx, repo, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", fmt.Errorf("find HEAD (is %s a git clone with at least one commit?): %w", repo, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Tags lists every tag of the repository with its date and the commit it
// points at. Release tags are annotated (dated by the tagger); a lightweight
// tag is dated by its commit.
func Tags(ctx context.Context, repo string) ([]version.Tag, error) {
	out, err := git(ctx, repo, "for-each-ref", "refs/tags",
		"--format=%(refname:strip=2)%00%(creatordate:iso-strict)%00%(objectname)%00%(*objectname)")
	if err != nil {
		return nil, fmt.Errorf("list tags (a shallow clone needs `git fetch --tags`): %w", err)
	}
	return parseTags(out)
}

func parseTags(out []byte) ([]version.Tag, error) {
	var tags []version.Tag
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\x00")
		if len(f) != 4 {
			return nil, fmt.Errorf("git for-each-ref: unexpected line %q", line)
		}
		date, err := time.Parse(time.RFC3339, f[1])
		if err != nil {
			return nil, fmt.Errorf("tag %s: date %q: %w", f[0], f[1], err)
		}
		commit := f[3] // the peeled object of an annotated tag
		if commit == "" {
			commit = f[2]
		}
		tags = append(tags, version.Tag{Name: f[0], Date: date.UTC(), Commit: commit})
	}
	return tags, nil
}

// Field and record separators for `git log`: control characters that never
// appear in commit messages written by people.
const (
	recordSep = "\x1e"
	fieldSep  = "\x1f"
)

// Log returns the commits reachable from HEAD and not from since (all of
// them when since is empty), newest first, as git prints them. It follows
// the first parent only, so a merged pull request is one entry (its merge
// commit, with the files it changed) rather than every commit of its branch.
func Log(ctx context.Context, repo, since string) ([]Commit, error) {
	rangeArg := "HEAD"
	if since != "" {
		rangeArg = since + "..HEAD"
	}
	out, err := git(ctx, repo, "log", "--first-parent", "--diff-merges=first-parent", "--name-only", "--no-renames",
		"--format="+recordSep+"%H"+fieldSep+"%an"+fieldSep+"%aI"+fieldSep+"%s"+fieldSep+"%b"+fieldSep, rangeArg)
	if err != nil {
		return nil, fmt.Errorf("read commits since %q: %w", since, err)
	}
	return ParseLog(out)
}

// ParseLog parses the output of Log's git command.
func ParseLog(out []byte) ([]Commit, error) {
	var commits []Commit
	for rec := range strings.SplitSeq(string(out), recordSep) {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		f := strings.SplitN(rec, fieldSep, 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("git log: malformed record %.80q", rec)
		}
		date, err := time.Parse(time.RFC3339, f[2])
		if err != nil {
			return nil, fmt.Errorf("commit %s: date %q: %w", f[0], f[2], err)
		}
		var files []string
		for l := range strings.SplitSeq(f[5], "\n") {
			if l = strings.TrimSpace(l); l != "" {
				files = append(files, l)
			}
		}
		commits = append(commits, Classify(Commit{
			Hash: f[0], Author: f[1], Date: date.UTC(),
			Subject: f[3], Body: strings.TrimSpace(f[4]), Files: files,
		}))
	}
	return commits, nil
}
