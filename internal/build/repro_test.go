package build

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPlanMatrixImagesFilter(t *testing.T) {
	tc := loadToolchain(t)
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	plan, err := PlanMatrix(tc, MatrixSpec{Arches: []string{"x86_64"}, KernelVariant: "test", Images: []string{"systemd"}, AsOf: day})
	if err != nil {
		t.Fatal(err)
	}
	k, i := jobs(plan)
	if strings.Join(k, " ") != "x86_64/test" || strings.Join(i, " ") != "x86_64/systemd" {
		t.Errorf("kernels %v, images %v; want x86_64/test and x86_64/systemd only", k, i)
	}
}

func TestCheckImagesNamesTheKnownOnes(t *testing.T) {
	repo := &Repo{Toolchain: loadToolchain(t)}
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	if err := checkImages(repo, MatrixSpec{Arches: []string{"x86_64"}, Images: []string{"default"}, AsOf: day}); err != nil {
		t.Fatal(err)
	}
	err := checkImages(repo, MatrixSpec{Arches: []string{"s390x"}, Images: []string{"systemd"}, AsOf: day})
	if err == nil || !strings.Contains(err.Error(), `--images names "systemd"`) || !strings.Contains(err.Error(), "(images: default)") {
		t.Errorf("err = %v, want it to refuse systemd on s390x and list default", err)
	}
}

func TestNonceIsFreshEachTime(t *testing.T) {
	a, err := newNonce("repro-a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newNonce("repro-a")
	if a == b || !strings.HasPrefix(a, "repro-a-") || len(a) != len("repro-a-")+16 {
		t.Errorf("nonces %q and %q", a, b)
	}
}

// The host half of a perturbation changes this process; these tests run serially
// (no t.Parallel) so nothing else sees the changed umask or environment.
func TestApplyHostRestores(t *testing.T) {
	t.Setenv("LANG", "C.UTF-8")
	os.Unsetenv("LC_ALL")
	pt := DefaultPerturbation()
	before := syscall.Umask(0o022)
	syscall.Umask(before)

	restore := pt.ApplyHost()
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(f)
	got := map[string]string{"TZ": os.Getenv("TZ"), "LANG": os.Getenv("LANG"), "LC_ALL": os.Getenv("LC_ALL"), "LANGUAGE": os.Getenv("LANGUAGE")}
	restore()

	if st.Mode().Perm() != 0o664 {
		t.Errorf("a file made with 0666 under the perturbation is %o, want 664 (umask 0002)", st.Mode().Perm())
	}
	want := map[string]string{"TZ": "GFT-13:45", "LANG": "fr_CH.UTF-8", "LC_ALL": "C", "LANGUAGE": "fr_CH:fr"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("under the perturbation %s=%q, want %q", k, got[k], v)
		}
	}
	if os.Getenv("LANG") != "C.UTF-8" {
		t.Errorf("LANG not restored: %q", os.Getenv("LANG"))
	}
	if _, ok := os.LookupEnv("LC_ALL"); ok {
		t.Error("LC_ALL was unset before and is set after")
	}
	now := syscall.Umask(0o022)
	syscall.Umask(now)
	if now != before {
		t.Errorf("umask %04o after, %04o before", now, before)
	}
}

func TestPerturbedSharesCachesNotWork(t *testing.T) {
	base := &Pipeline{CacheDir: t.TempDir(), Keyring: "k"}
	if err := os.MkdirAll(filepath.Join(base.CacheDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base.CacheDir, "images", "builder.oci.tar"), []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	q, cleanup, err := base.Perturbed(DefaultPerturbation())
	if err != nil {
		t.Fatal(err)
	}
	if q.Perturb == nil || q.Keyring != "k" || q.CacheDir == base.CacheDir {
		t.Fatalf("perturbed pipeline %+v", q)
	}
	if data, err := os.ReadFile(q.dir("images", "builder.oci.tar")); err != nil || string(data) != "image" {
		t.Errorf("the builder image cache is not shared: %q %v", data, err)
	}
	if st, err := os.Lstat(q.dir("work")); err != nil || !st.IsDir() || q.dir("work") == base.dir("work") {
		t.Errorf("work/ is not a directory of its own: %v", err)
	}
	cleanup()
	if _, err := os.Stat(q.CacheDir); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", q.CacheDir)
	}
	if _, err := os.Stat(filepath.Join(base.CacheDir, "images", "builder.oci.tar")); err != nil {
		t.Errorf("cleanup removed the shared cache: %v", err)
	}
	var nilPt *Perturbation
	if nilPt.Apply(nil) != nil {
		t.Error("a nil perturbation changed the container")
	}
	nilPt.ApplyHost()()
}
