package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/arch"
	"github.com/guestforge/guestforge/internal/artifact"
)

// fakeSteps stands in for the engine: each step records that it started and ended,
// fails when fail names its job, and a kernel step waits for its peers when parallel
// is set, which only a run that starts them together passes.
type fakeSteps struct {
	mu       sync.Mutex
	events   []string // "start <job>", "end <job>"
	fail     map[string]error
	parallel int // kernels that must be running at once before any returns
	// blockKernels makes every kernel wait for its context to end: the cancellation
	// of the first failure must reach it.
	blockKernels bool
}

func (f *fakeSteps) step(ctx context.Context, id string) error {
	f.mu.Lock()
	f.events = append(f.events, "start "+id)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.events = append(f.events, "end "+id)
		f.mu.Unlock()
	}()
	return f.fail[id]
}

func (f *fakeSteps) WarmBuilders(ctx context.Context, _ *slog.Logger, _ *Repo, _ MatrixPlan) error {
	return f.step(ctx, JobBuilders)
}

func (f *fakeSteps) Kernel(ctx context.Context, _ *slog.Logger, _ *Repo, spec KernelSpec) (*Kernel, error) {
	id := KernelJobID(KernelJob{Arch: spec.Arch, Variant: spec.Variant})
	if err := f.step(ctx, id); err != nil {
		return nil, err
	}
	if f.parallel > 0 {
		deadline := time.After(10 * time.Second)
		for {
			f.mu.Lock()
			n := 0
			for _, e := range f.events {
				if strings.HasPrefix(e, "start "+JobKernel+"/") {
					n++
				}
			}
			f.mu.Unlock()
			if n >= f.parallel {
				break
			}
			select {
			case <-deadline:
				return nil, fmt.Errorf("%s: the other kernels never started beside it", id)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if f.blockKernels {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	return &Kernel{Release: "6.12.117", ConfigID: "0123456789ab", Files: []string{spec.Arch.Name + "/vmlinux-" + spec.Variant}}, nil
}

func (f *fakeSteps) Firmware(ctx context.Context, _ *slog.Logger, _ *Repo, spec FirmwareSpec) (*Firmware, error) {
	if err := f.step(ctx, FirmwareJobID(FirmwareJob{Arch: spec.Arch})); err != nil {
		return nil, err
	}
	return &Firmware{Files: []string{spec.Arch.Name + "/" + artifact.FirmwareName(artifact.FirmwareAmdSev)}}, nil
}

func (f *fakeSteps) Rootfs(ctx context.Context, _ *slog.Logger, _ *Repo, spec RootfsSpec) (*Rootfs, error) {
	if err := f.step(ctx, ImageJobID(JobRootfs, ImageJob{Arch: spec.Arch, Image: spec.Image})); err != nil {
		return nil, err
	}
	return &Rootfs{Arch: spec.Arch, Tar: spec.Image + ".tar"}, nil
}

func (f *fakeSteps) Initrd(ctx context.Context, _ *slog.Logger, r *Rootfs, _ InitrdSpec) (*Artifact, error) {
	img := strings.TrimSuffix(r.Tar, ".tar")
	if err := f.step(ctx, ImageJobID(JobInitrd, ImageJob{Arch: r.Arch, Image: img})); err != nil {
		return nil, err
	}
	return &Artifact{Files: []string{r.Arch.Name + "/" + artifact.InitrdName(img)}}, nil
}

func (f *fakeSteps) DiskImage(ctx context.Context, _ *slog.Logger, _ *Repo, r *Rootfs, _ DiskSpec) (*DiskImage, error) {
	img := strings.TrimSuffix(r.Tar, ".tar")
	if err := f.step(ctx, ImageJobID(JobImage, ImageJob{Arch: r.Arch, Image: img})); err != nil {
		return nil, err
	}
	return &DiskImage{Artifact: Artifact{Files: []string{r.Arch.Name + "/rootfs-" + img + ".img", r.Arch.Name + "/" + artifact.RootHashName}}}, nil
}

// index is where event e happened; -1 when it did not.
func (f *fakeSteps) index(e string) int { return slices.Index(f.events, e) }

func testPlan() MatrixPlan {
	x86, arm := arch.MustParse("x86_64"), arch.MustParse("aarch64")
	return MatrixPlan{
		Kernels:  []KernelJob{{Arch: x86, Variant: "default"}, {Arch: arm, Variant: "default"}},
		Firmware: []FirmwareJob{{Arch: x86}},
		Images:   []ImageJob{{Arch: x86, Image: "default"}, {Arch: arm, Image: "default"}},
	}
}

func statuses(jobs []JobResult) map[string]string {
	m := map[string]string{}
	for _, j := range jobs {
		m[j.ID] = j.Status
	}
	return m
}

var allJobs = []string{"builders", "firmware/x86_64",
	"image/aarch64/default", "image/x86_64/default", "initrd/aarch64/default", "initrd/x86_64/default",
	"kernel/aarch64/default", "kernel/x86_64/default", "rootfs/aarch64/default", "rootfs/x86_64/default"}

func TestRunJobsOrderAndParallelism(t *testing.T) {
	f := &fakeSteps{parallel: 2}
	var done sync.Map
	hooks := MatrixHooks{Done: func(j JobResult) {
		if _, again := done.LoadOrStore(j.ID, true); again {
			t.Errorf("Done called twice for %s", j.ID)
		}
	}}
	jobs, built, err := runJobs(context.Background(), f, slog.New(slog.DiscardHandler), nil, testPlan(), MatrixSpec{}, hooks)
	kernels, images := built.kernels, built.images
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
		if j.Status != JobOK {
			t.Errorf("%s: %s (%v)", j.ID, j.Status, j.Err)
		}
		if _, ok := done.Load(j.ID); !ok {
			t.Errorf("Done was not called for %s", j.ID)
		}
	}
	if !slices.Equal(ids, allJobs) {
		t.Errorf("jobs %v, want %v in ID order", ids, allJobs)
	}
	// The builder images before anything else; each rootfs before its initrd and image.
	endBuilders := f.index("end builders")
	for _, id := range allJobs[1:] {
		if i := f.index("start " + id); i < endBuilders {
			t.Errorf("%s started at event %d, before the builder images ended (%d)", id, i, endBuilders)
		}
	}
	for _, a := range []string{"x86_64", "aarch64"} {
		rootfsEnd := f.index("end rootfs/" + a + "/default")
		for _, kind := range []string{"initrd", "image"} {
			if i := f.index("start " + kind + "/" + a + "/default"); i < rootfsEnd {
				t.Errorf("%s/%s/default started before its rootfs ended: %v", kind, a, f.events)
			}
		}
	}
	if len(kernels) != 2 || kernels[0] == nil || kernels[1] == nil || len(images) != 2 || images[0] == nil || images[1] == nil {
		t.Fatalf("kernels %v images %v: want every one built, in plan order", kernels, images)
	}
	if len(built.firmware) != 1 || built.firmware[0] == nil || built.firmware[0].Files[0] != "x86_64/ovmf-amdsev.fd" {
		t.Fatalf("firmware %v: want x86_64's built", built.firmware)
	}
	if kernels[1].Files[0] != "aarch64/vmlinux-default" || images[1].Job.Arch.Name != "aarch64" {
		t.Errorf("results out of plan order: %v, %v", kernels[1].Files, images[1].Job)
	}
	for _, j := range jobs {
		if j.ID == "image/x86_64/default" && !slices.Equal(j.Files, []string{"x86_64/rootfs-default.img"}) {
			t.Errorf("the image job's files %v: root_hash.txt belongs to the run, not the job", j.Files)
		}
	}
}

func TestRunJobsBuildersFailure(t *testing.T) {
	f := &fakeSteps{fail: map[string]error{JobBuilders: errors.New("images/default.lock:12: package kmod: bad sha256")}}
	jobs, built, err := runJobs(context.Background(), f, slog.New(slog.DiscardHandler), nil, testPlan(), MatrixSpec{}, MatrixHooks{})
	var je *JobError
	if !errors.As(err, &je) || je.ID != JobBuilders || !strings.Contains(err.Error(), "package kmod") {
		t.Fatalf("error %v: want the builders job's", err)
	}
	st := statuses(jobs)
	if len(st) != len(allJobs) || st[JobBuilders] != JobFailed {
		t.Fatalf("statuses %v", st)
	}
	for _, j := range jobs[1:] {
		if j.Status != JobSkipped || !errors.Is(j.Err, errBuildersFailed) {
			t.Errorf("%s: %s (%v), want skipped because the builders failed", j.ID, j.Status, j.Err)
		}
	}
	if len(f.events) != 2 {
		t.Errorf("steps ran after the builders failed: %v", f.events)
	}
	if built.kernels[0] != nil || built.images[0] != nil || built.firmware[0] != nil {
		t.Error("results returned for jobs that never ran")
	}
}

func TestRunJobsFirstFailureStopsTheRest(t *testing.T) {
	f := &fakeSteps{fail: map[string]error{"rootfs/x86_64/default": errors.New("package foo is not in Debian")}, blockKernels: true}
	jobs, _, err := runJobs(context.Background(), f, slog.New(slog.DiscardHandler), nil, testPlan(), MatrixSpec{}, MatrixHooks{})
	var je *JobError
	if !errors.As(err, &je) || je.ID != "rootfs/x86_64/default" {
		t.Fatalf("error %v: want only the rootfs job's (the jobs it stopped are not failures)", err)
	}
	st := statuses(jobs)
	if len(st) != len(allJobs) {
		t.Fatalf("statuses %v: want every job", st)
	}
	for id, want := range map[string]string{
		"rootfs/x86_64/default": JobFailed, "initrd/x86_64/default": JobSkipped, "image/x86_64/default": JobSkipped,
		// The kernels were running (the failure's cancellation stopped them) or had not
		// started yet (they never do): skipped either way.
		"kernel/x86_64/default": JobSkipped, "kernel/aarch64/default": JobSkipped,
	} {
		if st[id] != want {
			t.Errorf("%s: %s, want %s", id, st[id], want)
		}
	}
	for _, j := range jobs {
		switch j.ID {
		case "initrd/x86_64/default":
			if !strings.Contains(j.Err.Error(), "rootfs/x86_64/default did not finish") {
				t.Errorf("%s: %v", j.ID, j.Err)
			}
		case "kernel/x86_64/default":
			if !strings.Contains(j.Err.Error(), "rootfs/x86_64/default failed") {
				t.Errorf("%s: %v", j.ID, j.Err)
			}
		}
	}
	if f.index("start initrd/x86_64/default") >= 0 || f.index("start image/x86_64/default") >= 0 {
		t.Errorf("the failed rootfs's initrd or image ran: %v", f.events)
	}
}
