package build

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink several job goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestJobRunnerAllSucceed(t *testing.T) {
	var logs syncBuffer
	var done []string
	var mu sync.Mutex
	jr := newJobRunner(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), MatrixHooks{
		Done: func(j JobResult) { mu.Lock(); done = append(done, j.ID); mu.Unlock() },
	})
	var wg sync.WaitGroup
	for _, id := range []string{"kernel/x86_64/test", "initrd/x86_64/default"} {
		wg.Go(func() {
			jr.run(JobResult{ID: id}, func(context.Context, *slog.Logger) ([]string, error) {
				time.Sleep(20 * time.Millisecond)
				return []string{"x86_64/" + strings.ReplaceAll(id, "/", "-")}, nil
			})
		})
	}
	wg.Wait()
	res, err := jr.finish()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].ID != "initrd/x86_64/default" || res[1].ID != "kernel/x86_64/test" {
		t.Fatalf("results not in ID order: %+v", res)
	}
	for _, j := range res {
		if j.Status != JobOK || j.Err != nil || j.Duration < 20*time.Millisecond || len(j.Files) != 1 {
			t.Errorf("%s: %+v", j.ID, j)
		}
	}
	if len(done) != 2 {
		t.Errorf("Done hook called for %v, want both jobs", done)
	}
	if got := strings.Count(logs.String(), "job done"); got != 2 {
		t.Errorf("%d 'job done' lines in:\n%s", got, logs.String())
	}
}

func TestJobRunnerFirstFailureStopsTheRest(t *testing.T) {
	jr := newJobRunner(context.Background(), slog.New(slog.DiscardHandler), MatrixHooks{})
	boom := errors.New("make: *** [vmlinux] Error 2")
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// A long job that only ends when the run is stopped, as a Dagger call does
		// when its context is cancelled.
		jr.run(JobResult{ID: "image/x86_64/default"}, func(ctx context.Context, _ *slog.Logger) ([]string, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})
	})
	<-started
	jr.run(JobResult{ID: "kernel/x86_64/default"}, func(context.Context, *slog.Logger) ([]string, error) { return nil, boom })
	wg.Wait()
	// A job queued after the failure never starts.
	ran := false
	jr.run(JobResult{ID: "kernel/x86_64/debug"}, func(context.Context, *slog.Logger) ([]string, error) { ran = true; return nil, nil })
	if ran {
		t.Error("a job started after another had failed")
	}
	res, err := jr.finish()
	var je *JobError
	if !errors.As(err, &je) || je.ID != "kernel/x86_64/default" || !errors.Is(err, boom) {
		t.Fatalf("error = %v, want the JobError of kernel/x86_64/default wrapping the make failure", err)
	}
	if strings.Contains(err.Error(), "image/x86_64/default") {
		t.Errorf("the error names the job that was only stopped: %v", err)
	}
	status := map[string]string{}
	for _, j := range res {
		status[j.ID] = j.Status
	}
	want := map[string]string{"image/x86_64/default": JobSkipped, "kernel/x86_64/default": JobFailed, "kernel/x86_64/debug": JobSkipped}
	for id, s := range want {
		if status[id] != s {
			t.Errorf("%s: status %q, want %q (all: %v)", id, status[id], s, status)
		}
	}
	for _, j := range res {
		if j.Status == JobSkipped && !strings.Contains(j.Err.Error(), "kernel/x86_64/default failed") {
			t.Errorf("%s skipped without naming the failed job: %v", j.ID, j.Err)
		}
	}
}

func TestJobRunnerHeartbeatNamesRunningJobs(t *testing.T) {
	var logs syncBuffer
	jr := newJobRunner(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), MatrixHooks{Heartbeat: 10 * time.Millisecond})
	jr.run(JobResult{ID: "kernel/aarch64/test"}, func(context.Context, *slog.Logger) ([]string, error) {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), "still running") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return nil, nil
	})
	if _, err := jr.finish(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="matrix: still running" jobs="kernel/aarch64/test (`) {
		t.Errorf("no heartbeat naming the running job in:\n%s", logs.String())
	}
}
