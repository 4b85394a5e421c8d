package cut

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/manifest"
	"github.com/guestforge/guestforge/internal/policy"
	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/notes"
	"github.com/guestforge/guestforge/internal/release/plan"
	"github.com/guestforge/guestforge/internal/release/sums"
)

type fixture struct {
	repo     *changestest.Repo
	tc       *manifest.Toolchain
	dist     string
	registry string
	builder  *fileBuilder
	pub      *dirPublisher
	signer   edSigner
	verifier dirVerifier
	feeds    string
	out      bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	data, err := os.ReadFile("../plan/testdata/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{repo: changestest.History(t, data), feeds: "../plan/testdata/feeds"}
	f.tc, err = manifest.Load(filepath.Join(f.repo.Dir, "toolchain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f.dist = filepath.Join(f.repo.Dir, "dist")
	f.registry = t.TempDir()
	f.builder = &fileBuilder{}
	f.pub = &dirPublisher{registry: f.registry}
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.signer, f.verifier = edSigner{key}, dirVerifier{pub: pub}
	// Tagging needs an identity; the repo's own config, not the host's.
	f.repo.Git("2026-04-15", "config", "user.name", "Release Manager")
	f.repo.Git("2026-04-15", "config", "user.email", "rm@example.invalid")
	return f
}

func (f *fixture) release(t *testing.T, asOf string, flags plan.Flags) *Release {
	t.Helper()
	d, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(context.Background(), plan.Input{Repo: f.repo.Dir, Manifest: f.tc, AsOf: d, Flags: flags,
		Policy: plan.PolicyCheck{Source: policy.DirSource{Dir: f.feeds}}})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRelease(p, f.repo.Dir, f.dist, f.tc)
	r.Out = &f.out
	return r
}

func (f *fixture) stages() []Stage {
	return []Stage{
		PolicyStage(plan.PolicyCheck{Source: policy.DirSource{Dir: f.feeds}}),
		BuildStage(f.builder),
		AttestStage(),
		SignStage(f.signer),
		PublishStage(f.pub),
		VerifyStage(f.verifier),
		NotesStage(NotesConfig{Signing: notes.Signing{PublicKey: "cosign.pub"}, Registry: "ghcr.io/guestforge/guest-images"}),
		TagStage(""),
	}
}

func (f *fixture) tags(t *testing.T) string {
	return f.repo.Git("2026-04-15", "for-each-ref", "refs/tags", "--format=%(refname:strip=2) %(*objectname)")
}

// mtimes records the modification time of every file under dir.
func mtimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out[p] = fi.ModTime()
		}
		return err
	})
	return out
}

func TestCutDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	r := f.release(t, "2026-04-15", plan.Flags{})
	tagsBefore := f.tags(t)
	res, err := Run(context.Background(), r, f.stages(), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Ran, Order) || res.NoOp {
		t.Errorf("dry run described %v, want every stage %v", res.Ran, Order)
	}
	out := f.out.String()
	for i, name := range Order {
		if !strings.Contains(out, "["+string(rune('1'+i))+"/8] "+name+": would run") {
			t.Errorf("dry-run output lacks stage %s:\n%s", name, out)
		}
	}
	for _, want := range []string{
		"policy check as of 2026-04-15: PASS",
		"initrd x86_64 image default -> " + f.dist + "/v1.2.0/x86_64/{initrd-default.img}",
		"git tag -a v1.2.0",
		"cosign verify-blob --key cosign.pub",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(f.dist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run created %s (%v)", f.dist, err)
	}
	if f.builder.runs != 0 || f.pub.runs != 0 || f.tags(t) != tagsBefore {
		t.Errorf("dry run built %d times, published %d times, tags %q -> %q", f.builder.runs, f.pub.runs, tagsBefore, f.tags(t))
	}
}

func TestCutResumeAfterPublishFailureThenNoOp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tagsBefore := f.tags(t)
	f.pub.failAfter = 3

	_, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
	var se *StageError
	if !errors.As(err, &se) || se.Stage != StagePublish || !strings.Contains(err.Error(), "release cut --resume --version v1.2.0") {
		t.Fatalf("first run: %v, want the publish stage to fail with resume advice", err)
	}
	st, err := LoadState(f.dist, "v1.2.0")
	if err != nil || !slices.Equal(st.Finished(), []string{StagePolicy, StageBuild, StageAttest, StageSign}) {
		t.Fatalf("state after the failure: %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(f.registry, "v1.2.0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a half-published version is visible under its tag (%v)", err)
	}
	if f.tags(t) != tagsBefore {
		t.Errorf("tags changed by a failed cut: %q -> %q", tagsBefore, f.tags(t))
	}
	built := mtimes(t, filepath.Join(f.dist, "v1.2.0"))

	// Without --resume the half-done release is not silently continued.
	if _, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{}); !errors.Is(err, ErrInProgress) {
		t.Fatalf("re-run without --resume: %v, want ErrInProgress", err)
	}

	f.pub.failAfter = 0
	res, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), f.stages(), Options{Resume: true})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if !slices.Equal(res.Skipped, Order[:4]) || !slices.Equal(res.Ran, Order[4:]) {
		t.Errorf("resume skipped %v and ran %v", res.Skipped, res.Ran)
	}
	if f.builder.runs != 1 {
		t.Errorf("built %d times, want once", f.builder.runs)
	}
	for p, m := range built {
		if now := mtimes(t, filepath.Dir(p))[p]; !now.Equal(m) {
			t.Errorf("%s was rewritten by the resume", p)
		}
	}
	head := f.repo.Git("2026-04-15", "rev-parse", "HEAD")
	if got := f.tags(t); got != tagsBefore+"\nv1.2.0 "+head {
		t.Errorf("tags after the release:\n%s\nwant the old ones untouched plus v1.2.0 at %s", got, head)
	}
	md, err := os.ReadFile(NotesPath(f.dist, "v1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# guestforge v1.2.0", "| initrd-systemd.img | aarch64 |", "drop the 9p default (#14)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("notes lack %q", want)
		}
	}
	// The release directory has nothing but the release: state and notes
	// live beside it.
	if _, err := os.Stat(filepath.Join(f.dist, "v1.2.0", "state.json")); err == nil {
		t.Error("state.json inside the signed tree")
	}

	// A re-run after success does nothing, with or without --resume, and
	// the plan agrees there is nothing to do.
	for _, opts := range []Options{{}, {Resume: true}} {
		r := f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"})
		if !r.Plan.Nothing() {
			t.Errorf("plan after the release: %+v", r.Plan.Decision)
		}
		res, err := Run(ctx, r, f.stages(), opts)
		if err != nil || !res.NoOp || len(res.Ran) != 0 {
			t.Errorf("re-run %+v: %+v %v, want a no-op", opts, res, err)
		}
	}
	if f.builder.runs != 1 || f.pub.runs != 2 {
		t.Errorf("after the no-op: built %d, published %d", f.builder.runs, f.pub.runs)
	}
	if p := f.release(t, "2026-04-20", plan.Flags{}); !p.Plan.Nothing() {
		t.Errorf("monthly plan after the release: %+v", p.Plan.Decision)
	}
}

func TestCutRefusesTreeChangedBetweenRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.pub.failAfter = 1
	if _, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{}); err == nil {
		t.Fatal("first run did not fail")
	}
	victim := filepath.Join(f.dist, "v1.2.0", "x86_64", "initrd-default.img")
	if err := os.WriteFile(victim, []byte("swapped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.pub.failAfter = 0
	_, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), f.stages(), Options{Resume: true})
	if !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), "v1.2.0/x86_64/initrd-default.img, written by stage build, changed") {
		t.Fatalf("resume over a modified tree: %v", err)
	}
	if f.pub.runs != 1 {
		t.Errorf("published %d times; the modified tree must not be published", f.pub.runs)
	}
}

func TestCutVerifyFailureLeavesTagsAlone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tagsBefore := f.tags(t)
	f.verifier.fail = errors.New("boot probe line missing")
	_, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
	var se *StageError
	if !errors.As(err, &se) || se.Stage != StageVerify || !strings.Contains(err.Error(), "do not announce it") {
		t.Fatalf("verify failure: %v", err)
	}
	if f.tags(t) != tagsBefore {
		t.Errorf("tags changed: %q -> %q", tagsBefore, f.tags(t))
	}
	f.verifier.fail = nil
	res, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), f.stages(), Options{Resume: true})
	if err != nil || !slices.Equal(res.Ran, []string{StageVerify, StageNotes, StageTag}) || f.pub.runs != 1 {
		t.Errorf("resume after fixing verify: %+v %v (published %d times)", res, err, f.pub.runs)
	}
}

func TestCutResumeRefusesMovedHead(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.pub.failAfter = 1
	Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
	f.repo.Commit("2026-04-16", "fix: late change", map[string]string{"x.txt": "x"})
	_, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), f.stages(), Options{Resume: true})
	if !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), "started at commit") {
		t.Errorf("resume on a moved HEAD: %v", err)
	}
}

func TestCutUntilThenResume(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{Until: StageNotes})
	if err != nil || res.Stopped != StageNotes || len(res.Ran) != 7 {
		t.Fatalf("until notes: %+v %v", res, err)
	}
	if strings.Contains(f.tags(t), "v1.2.0") {
		t.Error("tagged before the tag stage")
	}
	// What the workflow does after `dagger call release`: finish locally.
	res, err = Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), f.stages(), Options{Resume: true})
	if err != nil || !slices.Equal(res.Ran, []string{StageTag}) {
		t.Fatalf("resume for the tag: %+v %v", res, err)
	}
	if _, err := FindInProgress(f.dist, Order); err != nil {
		t.Fatal(err)
	}
}

func TestCutRefusesStaleTreeAndResumeWithoutState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{Resume: true})
	if err == nil || !strings.Contains(err.Error(), "no cut of v1.2.0 in progress") {
		t.Errorf("resume with no state: %v", err)
	}
	stale := filepath.Join(f.dist, "v1.2.0", "x86_64")
	os.MkdirAll(stale, 0o755)
	os.WriteFile(filepath.Join(stale, "initrd-old.img"), []byte("old"), 0o644)
	_, err = Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
	if err == nil || !strings.Contains(err.Error(), "is not empty but no state records how it was made") {
		t.Errorf("cut over a stale tree: %v", err)
	}
}

func TestCutBuildCheckedAgainstPlan(t *testing.T) {
	for _, skip := range []string{"rootfs-systemd.img", "initrd-systemd.img"} {
		f := newFixture(t)
		f.builder.skip = skip
		_, err := Run(context.Background(), f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
		if err == nil || !strings.Contains(err.Error(), "the build finished without x86_64/"+skip) {
			t.Errorf("build without %s: %v", skip, err)
		}
	}
}

// A tree with the test kernel in place of the release kernels (one kernel for
// x86_64's three variants) must not become a release.
func TestCutRefusesOneKernelForManyVariants(t *testing.T) {
	f := newFixture(t)
	f.builder.oneVariant = "test"
	_, err := Run(context.Background(), f.release(t, "2026-04-15", plan.Flags{}), f.stages(), Options{})
	if err == nil || !strings.Contains(err.Error(), "x86_64: 1 kernel for 3 variants (default, confidential, debug)") ||
		!strings.Contains(err.Error(), "--kernel-variant=targets") {
		t.Errorf("one kernel for three variants: %v", err)
	}
}

func TestCutPolicyGate(t *testing.T) {
	f := newFixture(t)
	r := f.release(t, "2026-04-15", plan.Flags{})
	stages := f.stages()
	stages[0] = PolicyStage(plan.PolicyCheck{Source: policy.DirSource{Dir: "../plan/testdata/feeds-violation"}})
	for _, dry := range []bool{true, false} {
		_, err := Run(context.Background(), r, stages, Options{DryRun: dry})
		var se *StageError
		if !errors.As(err, &se) || se.Stage != StagePolicy || !strings.Contains(err.Error(), "go 1.26.8") {
			t.Errorf("dry=%v: %v, want the policy gate to stop on go", dry, err)
		}
	}
	if f.builder.runs != 0 {
		t.Error("built despite the policy violation")
	}
}

func TestCutStageOrderAndLock(t *testing.T) {
	f := newFixture(t)
	s := f.stages()
	bad := []Stage{s[0], s[1], s[2], s[4], s[3]} // sign after publish
	if err := checkStages(bad, ""); err == nil || !strings.Contains(err.Error(), "stage sign after publish") {
		t.Errorf("sign after publish: %v", err)
	}
	if err := checkStages(s, "deploy"); err == nil || !strings.Contains(err.Error(), "no such stage") {
		t.Errorf("bad --until: %v", err)
	}
	r := f.release(t, "2026-04-15", plan.Flags{})
	unlock, err := lock(BookDir(f.dist, "v1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := Run(context.Background(), r, s, Options{}); err == nil || !strings.Contains(err.Error(), "another `release cut` is running") {
		t.Errorf("concurrent cut: %v", err)
	}
}

// failingSigner signs nothing and says so, like a key whose password is wrong.
type failingSigner struct{}

func (failingSigner) Describe(context.Context, *Release) ([]string, error) { return nil, nil }
func (failingSigner) Sign(context.Context, *Release, *dist.Tree) error {
	return errors.New("decrypt cosign.key: wrong password")
}

// partialSigner signs SHA256SUMS only: the stage must notice the artifacts
// left unsigned.
type partialSigner struct{ edSigner }

func (s partialSigner) Sign(_ context.Context, _ *Release, t *dist.Tree) error {
	sum, _ := sums.File(t.Path(dist.SumsFile))
	return os.WriteFile(t.Path(dist.SumsFile+dist.BundleSuffix), []byte(sum), 0o644)
}

func TestCutPublishesNothingUnsigned(t *testing.T) {
	for name, signer := range map[string]Signer{"failing": failingSigner{}, "partial": partialSigner{}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			s := f.stages()
			s[3] = SignStage(signer)
			_, err := Run(context.Background(), f.release(t, "2026-04-15", plan.Flags{}), s, Options{})
			var se *StageError
			if !errors.As(err, &se) || se.Stage != StageSign {
				t.Fatalf("%v, want the sign stage to fail", err)
			}
			if name == "partial" && !strings.Contains(err.Error(), "without a bundle (aarch64/") {
				t.Errorf("partial signing: %v", err)
			}
			if f.pub.runs != 0 {
				t.Errorf("published %d times without signatures", f.pub.runs)
			}
		})
	}
}

// flakyAttester writes its file, then fails the first time: the rerun writes
// the same bytes, which must still be recorded as the stage's output.
type flakyAttester struct{ runs *int }

func (flakyAttester) Name() string { return "flaky attester" }
func (a flakyAttester) Attest(_ context.Context, _ *Release, t *dist.Tree) error {
	*a.runs++
	if err := os.WriteFile(t.Path("notice.txt"), []byte("same bytes every time\n"), 0o644); err != nil {
		return err
	}
	if *a.runs == 1 {
		return errors.New("transient failure after writing")
	}
	return nil
}

func TestCutRecordsOutputsOfARetriedStage(t *testing.T) {
	f := newFixture(t)
	runs := 0
	s := f.stages()
	s[2] = AttestStage(flakyAttester{&runs})
	ctx := context.Background()
	if _, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{}), s, Options{Until: StageAttest}); err == nil {
		t.Fatal("first attest did not fail")
	}
	if _, err := Run(ctx, f.release(t, "2026-04-15", plan.Flags{Version: "v1.2.0"}), s, Options{Resume: true, Until: StageAttest}); err != nil {
		t.Fatal(err)
	}
	st, _ := LoadState(f.dist, "v1.2.0")
	if _, ok := st.record(StageAttest).Files["v1.2.0/notice.txt"]; !ok {
		t.Errorf("attest outputs %v lack the file its failed first attempt also wrote", st.record(StageAttest).Files)
	}
}
