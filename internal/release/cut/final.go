package cut

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/notes"
)

// NotesConfig is what the notes need beyond the release itself.
type NotesConfig struct {
	Signing  notes.Signing
	Registry string
	// GitHubRepo is owner/name for pull request links ("" = plain #123).
	GitHubRepo string
}

// NotesPath is where the cut writes the release notes.
func NotesPath(distRoot, tag string) string { return filepath.Join(BookDir(distRoot, tag), "notes.md") }

type notesStage struct{ cfg NotesConfig }

// NotesStage writes dist/<tag>.release/notes.md.
func NotesStage(cfg NotesConfig) Stage { return notesStage{cfg} }

func (notesStage) Name() string    { return StageNotes }
func (notesStage) Publishes() bool { return false }

func (s notesStage) input(r *Release, arts []notes.Artifact) notes.Input {
	return notes.Input{
		Tag: r.Tag, Previous: r.Plan.Decision.Previous, Date: r.AsOf, Commit: r.Commit,
		Changes: r.Plan.Changes, Artifacts: arts, Manifest: r.Manifest,
		Signing: s.cfg.Signing, Registry: s.cfg.Registry, Repo: s.cfg.GitHubRepo,
	}
}

func (s notesStage) Describe(_ context.Context, r *Release) ([]string, error) {
	// Render with the artifacts that exist now (none before the build), so
	// the dry run proves the notes can be made from this plan.
	var arts []notes.Artifact
	if _, err := os.Stat(r.Dir); err == nil {
		a, err := notes.Artifacts(r.Dir)
		if err != nil {
			return nil, err
		}
		arts = a
	}
	md, err := notes.Render(s.input(r, arts))
	if err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("write %s (%d bytes now; the artifact table fills in after the build): %d commits since %s",
		NotesPath(r.DistRoot, r.Tag), len(md), len(r.Plan.Changes.Commits), orFirst(r.Plan.Decision.Previous))}
	out = append(out, "users verify with:")
	for _, c := range notes.VerifyCommands(s.cfg.Signing, s.cfg.Registry, r.Tag) {
		out = append(out, "  "+c)
	}
	return out, nil
}

func orFirst(prev string) string {
	if prev == "" {
		return "the first commit"
	}
	return prev
}

func (s notesStage) Run(_ context.Context, r *Release) (map[string]string, error) {
	arts, err := notes.Artifacts(r.Dir)
	if err != nil {
		return nil, err
	}
	md, err := notes.Render(s.input(r, arts))
	if err != nil {
		return nil, err
	}
	return nil, dist.WriteFile(NotesPath(r.DistRoot, r.Tag), md)
}

// tagStage makes the annotated git tag, and pushes it when asked.
type tagStage struct{ push string }

// TagStage tags the released commit; push is the remote to push the tag to
// ("" = leave it local, for the manager to push).
func TagStage(push string) Stage { return tagStage{push} }

func (tagStage) Name() string      { return StageTag }
func (s tagStage) Publishes() bool { return s.push != "" }

func (s tagStage) Describe(ctx context.Context, r *Release) ([]string, error) {
	if err := s.checkFree(ctx, r); err != nil {
		return nil, err
	}
	out := []string{fmt.Sprintf("git tag -a %s %s", r.Tag, short(r.Commit))}
	if s.push != "" {
		out = append(out, fmt.Sprintf("git push %s refs/tags/%s", s.push, r.Tag))
	} else {
		out = append(out, fmt.Sprintf("(not pushed: push it with `git push origin refs/tags/%s`)", r.Tag))
	}
	return out, nil
}

// checkFree returns nil when the tag is absent or already on the commit.
func (s tagStage) checkFree(ctx context.Context, r *Release) error {
	at, err := gitOut(ctx, r.Repo, "rev-parse", "-q", "--verify", "refs/tags/"+r.Tag+"^{commit}")
	if err != nil {
		return nil // absent
	}
	if at != r.Commit {
		return fmt.Errorf("tag %s already exists on %s, not on %s: a release never moves a tag; investigate who made it",
			r.Tag, short(at), short(r.Commit))
	}
	return nil
}

func (s tagStage) Run(ctx context.Context, r *Release) (map[string]string, error) {
	if err := s.checkFree(ctx, r); err != nil {
		return nil, err
	}
	// A resumed run may find the tag made by the run that was interrupted
	// between tagging and recording it: that is the same tag, keep it.
	if _, err := gitOut(ctx, r.Repo, "rev-parse", "-q", "--verify", "refs/tags/"+r.Tag); err != nil {
		msg := fmt.Sprintf("guestforge %s\n\nRelease notes: %s\n", r.Tag, filepath.Base(NotesPath(r.DistRoot, r.Tag)))
		if _, err := gitOut(ctx, r.Repo, "tag", "-a", "-m", msg, r.Tag, r.Commit); err != nil {
			return nil, fmt.Errorf("%w (git needs user.name and user.email to make an annotated tag)", err)
		}
	}
	values := map[string]string{"tag": r.Tag, "commit": r.Commit}
	if s.push != "" {
		if _, err := gitOut(ctx, r.Repo, "push", s.push, "refs/tags/"+r.Tag); err != nil {
			return nil, fmt.Errorf("push the tag: %w (the tag is made locally; push it by hand or resume)", err)
		}
		values["pushed"] = s.push
	}
	return values, nil
}

func gitOut(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	cmd.Env = append(cmd.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
