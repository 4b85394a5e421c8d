package build

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"dagger.io/dagger"
)

// Perturbation is a build environment that must not change a single output byte:
// the second build of the reproducibility gate runs in it (`release repro`). It
// changes what a build machine may differ in and the pipeline does not pin itself;
// what the pipeline pins (kernelEnv's TZ=UTC and LC_ALL, the fixed /src and /build
// paths of the kernel, SOURCE_DATE_EPOCH) is set after it and wins, so a
// perturbation that reaches an output is a step that forgot to pin something.
type Perturbation struct {
	// TZ is a POSIX TZ string (valid without tzdata in the builders).
	TZ string
	// Lang is LANG and LANGUAGE's first entry; LCAll is LC_ALL. The builders carry no
	// locale definitions (no locales package), so the only other locale they can run
	// is C: LC_ALL=C turns the charset from UTF-8 to ASCII, and Lang still differs for
	// tools that read LANG themselves.
	Lang, LCAll string
	// Umask of every command: the container's entry commands run through a wrapper
	// that sets it (Dagger has no umask option), and the client process sets it for
	// the client-side steps (finishing the rootfs, packing the initrd).
	Umask int
	// Workdir is the working directory commands start in where the pipeline sets none.
	Workdir string
}

// DefaultPerturbation differs from a normal build in every field: a time zone 13:45
// ahead of UTC, a French-Swiss LANG with an ASCII LC_ALL, a group-writable umask
// (reprotest's; 0077 would lock apt's _apt sandbox user out of its own directories,
// a failure of the test setup, not of reproducibility) and an unusual working
// directory with a space in it.
func DefaultPerturbation() Perturbation {
	return Perturbation{TZ: "GFT-13:45", Lang: "fr_CH.UTF-8", LCAll: "C", Umask: 0o002,
		Workdir: "/var/tmp/guestforge perturbed/build"}
}

// perturbDir holds the umask wrapper and a symlink to it for every command on the
// builder's PATH.
const perturbDir = "/usr/local/libexec/guestforge-perturb"

// perturbSetup installs the wrapper: each name on PATH becomes a link to a script that
// sets the umask, restores the original PATH (so only the command Dagger starts goes
// through it; its children inherit the umask) and executes the real command.
const perturbSetup = `set -eu
d=` + perturbDir + `
mkdir -p "$d/bin"
cat >"$d/wrap" <<'EOF'
#!/bin/sh
umask "$GUESTFORGE_PERTURB_UMASK"
PATH=$GUESTFORGE_PERTURB_PATH
export PATH
exec "${0##*/}" "$@"
EOF
chmod 0755 "$d/wrap"
IFS=:
for dir in $PATH; do
	for f in "$dir"/*; do
		if [ -f "$f" ] && [ -x "$f" ] && [ ! -e "$d/bin/${f##*/}" ]; then
			ln -s ../wrap "$d/bin/${f##*/}"
		fi
	done
done
`

// Apply returns c perturbed; a nil Perturbation returns c unchanged, so the pipelines
// call it unconditionally on their builder containers.
func (pt *Perturbation) Apply(c *dagger.Container) *dagger.Container {
	if pt == nil {
		return c
	}
	if pt.Umask != 0 {
		c = c.WithExec([]string{"sh", "-c", perturbSetup}).
			WithEnvVariable("GUESTFORGE_PERTURB_UMASK", fmt.Sprintf("%04o", pt.Umask)).
			WithEnvVariable("GUESTFORGE_PERTURB_PATH", "${PATH}", dagger.ContainerWithEnvVariableOpts{Expand: true}).
			WithEnvVariable("PATH", perturbDir+"/bin:${PATH}", dagger.ContainerWithEnvVariableOpts{Expand: true})
	}
	env := pt.env()
	// In key order: the container's configuration, and so every cache key after it,
	// must be the same on every run.
	for _, k := range sortedKeys(env) {
		c = c.WithEnvVariable(k, env[k])
	}
	if pt.Workdir != "" {
		c = c.WithWorkdir(pt.Workdir)
	}
	return c
}

// env is the perturbation's environment variables.
func (pt *Perturbation) env() map[string]string {
	m := map[string]string{}
	if pt.TZ != "" {
		m["TZ"] = pt.TZ
	}
	if pt.Lang != "" {
		m["LANG"] = pt.Lang
		m["LANGUAGE"] = pt.Lang[:min(len(pt.Lang), 5)] + ":" + pt.Lang[:min(len(pt.Lang), 2)]
	}
	if pt.LCAll != "" {
		m["LC_ALL"] = pt.LCAll
	}
	return m
}

// ApplyHost perturbs this process for the client-side steps and the commands they
// start (go build of the boot probe): the umask and the environment. It returns the
// function that restores both. Go's own time.Local is left alone: it is read
// concurrently by the session's goroutines, and no client-side step formats local
// times into an output.
func (pt *Perturbation) ApplyHost() (restore func()) {
	if pt == nil {
		return func() {}
	}
	old := map[string]*string{}
	for k, v := range pt.env() {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	prevMask := -1
	if pt.Umask != 0 {
		prevMask = syscall.Umask(pt.Umask)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
		if prevMask >= 0 {
			syscall.Umask(prevMask)
		}
	}
}

// Perturbed returns a copy of p that runs its builds in pt, and keeps its client-side
// work files under another path: a cache directory of its own whose work/ is new
// and whose other entries (builder images, sources, agents) link to p's, so nothing
// is downloaded or rebuilt twice. cleanup removes that directory.
func (p *Pipeline) Perturbed(pt Perturbation) (q *Pipeline, cleanup func(), err error) {
	if err := os.MkdirAll(p.CacheDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create the cache %s: %w", p.CacheDir, err)
	}
	dir, err := os.MkdirTemp(p.CacheDir, "perturbed-")
	if err != nil {
		return nil, nil, fmt.Errorf("create the perturbed cache directory: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	for _, sub := range []string{"images", "src", "rootfs", "agents", "debs"} {
		target := filepath.Join(p.CacheDir, sub)
		if err := os.MkdirAll(target, 0o755); err != nil {
			cleanup()
			return nil, nil, err
		}
		if err := os.Symlink(target, filepath.Join(dir, sub)); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	// work/ is new: the client writes the finished rootfs and the initrd under
	// another path than the first build did.
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		cleanup()
		return nil, nil, err
	}
	cp := *p
	cp.CacheDir, cp.Perturb = dir, &pt
	return &cp, cleanup, nil
}
