package provenance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/sums"
	"github.com/guestforge/guestforge/internal/testenv"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

func input() Input {
	return Input{
		Commit:          commit,
		Repository:      "https://github.com/guestforge/guestforge",
		ToolchainSHA256: strings.Repeat("ab", 32),
		Builders: []BuilderImage{
			{Name: "rootfs", Ref: "guestforge-builder-rootfs.tar", Digest: "sha256:" + strings.Repeat("02", 32)},
			{Name: "kernel", Ref: "ghcr.io/guestforge/builder-kernel", Digest: "sha256:" + strings.Repeat("01", 32)},
		},
		Dependencies: []ResourceDescriptor{{Name: "kernel-source", URI: "http://deb.debian.org/linux.deb", Digest: map[string]string{"sha256": strings.Repeat("cd", 32)}}},
		Parameters:   map[string]string{"variant": "default", "images": "default,systemd"},
	}
}

func tree(t *testing.T) *dist.Tree {
	t.Helper()
	tr, err := dist.Open(disttest.Build(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestStatementSubjectsAndValidity(t *testing.T) {
	tr := tree(t)
	st, err := Write(tr, input())
	if err != nil {
		t.Fatal(err)
	}
	want, err := sums.Compute(tr.Root, tr.Artifacts())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != len(want) || len(want) != 2*9 {
		t.Fatalf("%d subjects, %d artifacts (want 9 per arch)", len(st.Subject), len(want))
	}
	for i, e := range want {
		if st.Subject[i].Name != e.Path || st.Subject[i].Digest["sha256"] != e.SHA256 {
			t.Errorf("subject %d = %+v, want %s %s", i, st.Subject[i], e.Path, e.SHA256)
		}
	}

	// The in-toto project's own bindings accept what we wrote.
	line, err := os.ReadFile(tr.Path(dist.ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("want one JSON line, got %q", line)
	}
	var pb intoto.Statement
	if err := protojson.Unmarshal(line, &pb); err != nil {
		t.Fatalf("in-toto bindings reject the statement: %v", err)
	}
	if err := pb.Validate(); err != nil {
		t.Fatalf("in-toto Statement.Validate: %v", err)
	}
	pred, err := protojson.Marshal(pb.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	var prov slsa.Provenance
	if err := protojson.Unmarshal(pred, &prov); err != nil {
		t.Fatalf("SLSA bindings reject the predicate: %v", err)
	}
	if err := prov.Validate(); err != nil {
		t.Fatalf("SLSA Provenance.Validate: %v", err)
	}
	deps := map[string]string{}
	for _, d := range prov.GetBuildDefinition().GetResolvedDependencies() {
		for alg, v := range d.GetDigest() {
			deps[d.GetName()+" "+alg] = v
		}
	}
	for k, v := range map[string]string{
		"source gitCommit":      commit,
		"toolchain.yaml sha256": strings.Repeat("ab", 32),
		"builder/kernel sha256": strings.Repeat("01", 32),
		"builder/rootfs sha256": strings.Repeat("02", 32),
		"kernel-source sha256":  strings.Repeat("cd", 32),
	} {
		if deps[k] != v {
			t.Errorf("resolved dependency %s = %q, want %q (all: %v)", k, deps[k], v, deps)
		}
	}
	if got := prov.GetBuildDefinition().GetExternalParameters().AsMap()["parameters"]; got == nil {
		t.Error("parameters missing from externalParameters")
	}
	if tr, err = dist.Open(tr.Root); err != nil { // a Tree is a snapshot: reopen to see the new file
		t.Fatal(err)
	}
	if err := Check(tr); err != nil {
		t.Fatalf("Check on a fresh tree: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := tree(t), tree(t)
	in := input()
	if _, err := Write(a, in); err != nil {
		t.Fatal(err)
	}
	// Same inputs in another order give the same bytes.
	in.Builders[0], in.Builders[1] = in.Builders[1], in.Builders[0]
	if _, err := Write(b, in); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a.Path(dist.ProvenanceFile))
	y, _ := os.ReadFile(b.Path(dist.ProvenanceFile))
	if !bytes.Equal(x, y) {
		t.Fatalf("provenance differs between two writes:\n%s\n%s", x, y)
	}
	var m map[string]any
	if err := json.Unmarshal(x, &m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(x), a.Root) {
		t.Fatal("the provenance leaks the local path of the tree")
	}
}

func TestCheckCatches(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, tr *dist.Tree)
		want   string
	}{
		{"flipped byte", func(t *testing.T, tr *dist.Tree) {
			b, _ := os.ReadFile(tr.Path("aarch64/rootfs-default.img"))
			b[100] ^= 0x80
			os.WriteFile(tr.Path("aarch64/rootfs-default.img"), b, 0o644)
		}, "aarch64/rootfs-default.img: sha256 "},
		{"extra artifact", func(t *testing.T, tr *dist.Tree) {
			os.WriteFile(tr.Path("x86_64/extra.bin"), []byte("x"), 0o644)
		}, "x86_64/extra.bin: not a subject of provenance.intoto.jsonl"},
		{"removed artifact", func(t *testing.T, tr *dist.Tree) {
			os.Remove(tr.Path("x86_64/root_hash.txt"))
		}, "x86_64/root_hash.txt: subject of provenance.intoto.jsonl but not in the tree"},
		{"not a statement", func(t *testing.T, tr *dist.Tree) {
			os.WriteFile(tr.Path(dist.ProvenanceFile), []byte(`{"_type":"x"}`+"\n"), 0o644)
		}, "provenance.intoto.jsonl:1: statement type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := tree(t)
			if _, err := Write(tr, input()); err != nil {
				t.Fatal(err)
			}
			c.mutate(t, tr)
			tr, err := dist.Open(tr.Root)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(tr); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want %q", err, c.want)
			}
		})
	}
}

func TestInputValidation(t *testing.T) {
	tr := tree(t)
	in := input()
	in.Commit = "HEAD"
	in.Builders[0].Digest = "latest"
	_, err := New(tr, in)
	if err == nil || !strings.Contains(err.Error(), `git commit "HEAD"`) || !strings.Contains(err.Error(), `digest "latest"`) {
		t.Fatalf("New = %v, want both problems named", err)
	}
}

func TestParseBuilder(t *testing.T) {
	d := "sha256:" + strings.Repeat("0f", 32)
	for in, want := range map[string]BuilderImage{
		"kernel=ghcr.io/x/y@" + d: {Name: "kernel", Ref: "ghcr.io/x/y", Digest: d},
		"rootfs=" + d:             {Name: "rootfs", Digest: d},
	} {
		got, err := ParseBuilder(in)
		if err != nil || got != want {
			t.Errorf("ParseBuilder(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"kernel", "=sha256:00", "kernel=ghcr.io/x/y:latest", "kernel=sha256:xyz"} {
		if _, err := ParseBuilder(bad); err == nil {
			t.Errorf("ParseBuilder(%q) accepted", bad)
		}
	}
}

func TestGitHead(t *testing.T) {
	git := testenv.RequireTool(t, "git")
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	os.WriteFile(filepath.Join(dir, "toolchain.yaml"), []byte("epoch: 1\n"), 0o644)
	run("add", "toolchain.yaml")
	run("commit", "-q", "-m", "pin")
	got, err := GitHead(context.Background(), dir)
	if err != nil || got != run("rev-parse", "HEAD") || !commitRE.MatchString(got) {
		t.Fatalf("GitHead = %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "toolchain.yaml"), []byte("epoch: 2\n"), 0o644)
	if _, err := GitHead(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("GitHead on a dirty tree: %v", err)
	}
}
