package changes_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/release/changes"
	"github.com/guestforge/guestforge/internal/release/changes/changestest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		subject, body string
		files         []string
		typ, scope    string
		breaking      bool
		desc          string
		prs           []int
		area          string
	}{
		{subject: "feat(kernel): enable virtio-mem (#123)", files: []string{"kernel-configs/common/virtio.conf"},
			typ: "feat", scope: "kernel", desc: "enable virtio-mem", prs: []int{123}, area: "kernel"},
		{subject: "fix!: drop the 9p default (#7) (#9)", files: []string{"internal/build/rootfs.go", "ci/main.go", "README.md"},
			typ: "fix", breaking: true, desc: "drop the 9p default", prs: []int{7, 9}, area: "pipelines"},
		{subject: "Refactor: Tidy", files: []string{"hack/tools.sh"}, typ: "refactor", desc: "Tidy", area: "tooling"},
		{subject: "chore: bump go", body: "BREAKING CHANGE: needs go 1.26", files: []string{"toolchain.yaml"},
			typ: "chore", breaking: true, desc: "bump go", area: "toolchain"},
		{subject: "Update things", files: []string{"docs/runbook.md", "internal/release/cut/cut.go"},
			typ: "other", desc: "Update things", area: "release"}, // tie: release comes before docs
		{subject: "wip: something: odd", files: []string{"x/y.go"}, typ: "other", desc: "wip: something: odd", area: "other"},
		{subject: "Merge pull request #42 from someone/branch", body: "feat(images): systemd image\n\nlong text",
			files: []string{"images/systemd.yaml"}, typ: "feat", scope: "images", desc: "systemd image", prs: []int{42}, area: "images"},
		{subject: "docs: empty", typ: "docs", desc: "empty", area: "other"},
	}
	for _, tt := range tests {
		c := changes.Classify(changes.Commit{Subject: tt.subject, Body: tt.body, Files: tt.files})
		got := []any{c.Type, c.Scope, c.Breaking, c.Description, c.PRs, c.Area}
		want := []any{tt.typ, tt.scope, tt.breaking, tt.desc, tt.prs, tt.area}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Classify(%q) = %v, want %v", tt.subject, got, want)
		}
	}
}

// The real thing: commits and tags in a git repository, read back through
// the same git commands `release plan` uses.
func TestSinceReadsGit(t *testing.T) {
	r := changestest.New(t)
	r.Commit("2026-01-10", "feat: initial tree", map[string]string{"toolchain.yaml": "epoch: 1\n"})
	r.Tag("2026-01-15", "v1.0.0")
	r.Commit("2026-01-20", "fix(kernel): keep CONFIG_VSOCKETS (#11)", map[string]string{"kernel-configs/common/vsock.conf": "CONFIG_VSOCKETS=y\n"})
	merge := r.MergePR("2026-01-25", 12, "systemd", "feat(images): systemd guest image", map[string]string{"images/systemd.yaml": "name: systemd\n"})
	r.Commit("2026-02-01", "docs: runbook", map[string]string{"docs/runbook.md": "# runbook\n"})

	ctx := context.Background()
	set, err := changes.Since(ctx, r.Dir, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, c := range set.Commits {
		subjects = append(subjects, c.Subject)
	}
	want := []string{"docs: runbook", "Merge pull request #12 from contributor/systemd", "fix(kernel): keep CONFIG_VSOCKETS (#11)"}
	if !reflect.DeepEqual(subjects, want) {
		t.Fatalf("commits since v1.0.0 = %q, want %q (first parent only, newest first)", subjects, want)
	}
	if set.Commits[1].Hash != merge || !reflect.DeepEqual(set.Commits[1].Files, []string{"images/systemd.yaml"}) {
		t.Errorf("merge commit = %s %v, want %s with the PR's files", set.Commits[1].Hash, set.Commits[1].Files, merge)
	}
	if d := set.Commits[2].Date; !d.Equal(time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("commit date %v", d)
	}
	var areas []string
	for _, a := range set.Areas {
		var types []string
		for _, g := range a.Types {
			types = append(types, g.Type+":"+g.Commits[0].Description)
		}
		areas = append(areas, a.Name+"="+strings.Join(types, ","))
	}
	wantAreas := []string{"kernel=fix:keep CONFIG_VSOCKETS", "images=feat:systemd guest image", "docs=docs:runbook"}
	if !reflect.DeepEqual(areas, wantAreas) {
		t.Errorf("areas = %q, want %q", areas, wantAreas)
	}

	all, err := changes.Since(ctx, r.Dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Commits) != 4 {
		t.Errorf("all commits: %d, want 4", len(all.Commits))
	}

	tags, err := changes.Tags(ctx, r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Git("2026-02-01", "rev-list", "-n1", "v1.0.0")
	if len(tags) != 1 || tags[0].Name != "v1.0.0" || tags[0].Commit != first ||
		!tags[0].Date.Equal(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("tags = %+v, want v1.0.0 at %s dated 2026-01-15 (the tagger date, not the commit's)", tags, first)
	}
	head, err := changes.Head(ctx, r.Dir)
	if err != nil || head != r.Git("2026-02-01", "rev-parse", "HEAD") {
		t.Errorf("Head = %q, %v", head, err)
	}

	if _, err := changes.Since(ctx, r.Dir, "v9.9.9"); err == nil || !strings.Contains(err.Error(), "v9.9.9") {
		t.Errorf("unknown tag: %v", err)
	}
}

func TestLightweightTagIsDatedByItsCommit(t *testing.T) {
	r := changestest.New(t)
	c := r.Commit("2026-03-03", "feat: x", map[string]string{"a": "1"})
	r.Git("2026-03-09", "tag", "v0.1.0")
	tags, err := changes.Tags(context.Background(), r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 || tags[0].Commit != c || tags[0].Date.Format(time.DateOnly) != "2026-03-03" {
		t.Errorf("tags = %+v", tags)
	}
}

func TestHeadOfEmptyRepo(t *testing.T) {
	r := changestest.New(t)
	if _, err := changes.Head(context.Background(), r.Dir); err == nil || !strings.Contains(err.Error(), "at least one commit") {
		t.Errorf("Head of an empty repo: %v", err)
	}
}
