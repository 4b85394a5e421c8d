package main

// The hostile-input corpus (testdata/hostile, issue 14) run through each
// command it targets: the exit code and the first line of the error, as a
// user sees them. Inputs too big for git, or that git cannot hold (FIFOs,
// signed releases), are made here.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"github.com/guestforge/guestforge/internal/release/dist"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/releasetest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

const hostileDir = repoRoot + "/testdata/hostile"

type cliRun struct {
	stdout, stderr string
	code           int
}

// firstErrorLine is the first line main prints to stderr for an error.
func (r cliRun) firstErrorLine() string {
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "release: ") {
			return l
		}
	}
	return ""
}

// runCLI runs a fresh command in process and maps its error to an exit
// code and a stderr line exactly as main does.
func runCLI(t *testing.T, cmd *cobra.Command, env map[string]string, args ...string) cliRun {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	r := cliRun{code: exitOK}
	if err != nil {
		// Only the error goes through main's "release: " line; logs on
		// stderr stay above it.
		errb.WriteString("release: " + err.Error() + "\n")
		r.code = exitBadInput
		var ee *exitError
		if errors.As(err, &ee) {
			r.code = ee.code
		}
	}
	r.stdout, r.stderr = out.String(), errb.String()
	return r
}

func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// feedsWith copies the dated feed snapshot into a temporary directory and
// lets change replace or break one of its files.
func feedsWith(t *testing.T, change func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "feeds")
	if err := os.CopyFS(dir, os.DirFS(snapshotFeeds)); err != nil {
		t.Fatal(err)
	}
	change(dir)
	return dir
}

func TestHostilePolicy(t *testing.T) {
	cases := []struct {
		name  string
		args  func(t *testing.T) []string
		code  int
		first func(args []string) string
	}{
		{name: "oversize-manifest", code: exitBadInput,
			args: func(t *testing.T) []string {
				p := filepath.Join(t.TempDir(), "toolchain.yaml")
				sparseFile(t, p, 300<<20)
				return []string{"check", "--manifest", p, "--feeds", snapshotFeeds, "--as-of", snapshotDay}
			},
			first: func(a []string) string {
				return "release: read manifest: " + a[2] + " is 300 MiB; the limit for a manifest is 4 MiB (pass --manifest PATH to point at toolchain.yaml)"
			}},
		{name: "fifo-feed", code: exitBadInput,
			args: func(t *testing.T) []string {
				feeds := feedsWith(t, func(dir string) {
					os.Remove(filepath.Join(dir, "go.json"))
					if err := syscall.Mkfifo(filepath.Join(dir, "go.json"), 0o644); err != nil {
						t.Fatal(err)
					}
				})
				return []string{"check", "--manifest", pinnedYAML, "--gomod", "none", "--feeds", feeds, "--as-of", snapshotDay}
			},
			first: func(a []string) string {
				return "release: go feed: " + filepath.Join(a[6], "go.json") + " is a FIFO, not a regular file: pass the file itself"
			}},
		{name: "feed-mismatch", code: exitBadInput,
			args: func(t *testing.T) []string {
				return []string{"check", "--manifest", hostileDir + "/feed-mismatch/toolchain.yaml", "--gomod", "none", "--feeds", snapshotFeeds, "--as-of", snapshotDay}
			},
			first: func(a []string) string {
				return "release: " + a[2] + ":25:35: toolchains.go.feed: go is checked against the go feed, not rust: write feed: go"
			}},
		{name: "yaml-no-line", code: exitBadInput,
			args: func(t *testing.T) []string {
				return []string{"check", "--manifest", hostileDir + "/yaml-no-line/toolchain.yaml", "--gomod", "none", "--feeds", snapshotFeeds, "--as-of", snapshotDay}
			},
			first: func(a []string) string {
				return "release: " + a[2] + ":12: invalid YAML: control characters are not allowed (check indentation, quotes and colons on this line and the one before)"
			}},
		{name: "no-stable-feed", code: exitBadInput,
			args: func(t *testing.T) []string {
				feeds := feedsWith(t, func(dir string) {
					b, err := os.ReadFile(hostileDir + "/no-stable-feed/go.json")
					if err != nil {
						t.Fatal(err)
					}
					os.WriteFile(filepath.Join(dir, "go.json"), b, 0o644)
				})
				return []string{"check", "--manifest", pinnedYAML, "--gomod", "none", "--feeds", feeds, "--as-of", snapshotDay}
			},
			first: func(a []string) string {
				return "release: " + a[2] + ":25: go: the go feed (go.dev/dl JSON) lists no stable release, so N-2 cannot be checked: it is truncated or not the upstream feed; refresh it (release policy snapshot --out DIR) and check again"
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args(t)
			r := runCLI(t, newPolicyCmd(), nil, args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\n%s", r.code, c.code, r.stderr)
			}
			if got, want := r.firstErrorLine(), c.first(args); got != want {
				t.Errorf("first error line:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// bump --write without go.mod keeps the module exception; through a
// symlink it edits the target and leaves the link.
func TestHostilePolicyBumpWrite(t *testing.T) {
	src, err := os.ReadFile(hostileDir + "/gomod-not-read/toolchain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "shared", "toolchain.yaml")
	os.MkdirAll(filepath.Dir(target), 0o755)
	if err := os.WriteFile(target, src, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "toolchain.yaml")
	if err := os.Symlink("shared/toolchain.yaml", link); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, newPolicyCmd(), nil, "bump", "--manifest", link, "--gomod", "none", "--feeds", snapshotFeeds, "--as-of", snapshotDay, "--write")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	const module = "github.com/sigstore/sigstore-go"
	wantLine := link + ":19: keep exception " + module + " (allow v1.1.4 until 2027-02-28): kept: go.mod was not read (--gomod none, or no go.mod beside the manifest), so nothing shows whether it is still needed"
	if !strings.Contains(r.stdout, wantLine+"\n") {
		t.Errorf("plan lacks %q:\n%s", wantLine, r.stdout)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink: %v %v", link, fi.Mode(), err)
	}
	after, _ := os.ReadFile(target)
	if !bytes.Contains(after, []byte("name: "+module)) {
		t.Error("the module exception was removed from the manifest")
	}
	if bytes.Equal(after, src) {
		t.Error("the target was not edited")
	}
}

func TestHostileVerifyAndSign(t *testing.T) {
	k := releasetest.KeyPair(t, "main")
	signedRelease := func(t *testing.T) string {
		return releasetest.AttestAndSign(t, disttest.Build(t, t.TempDir()), k).Root
	}
	cases := []struct {
		name  string
		cmd   func() *cobra.Command
		args  func(t *testing.T) []string
		code  int
		first func(args []string) string
	}{
		{name: "relabelled-release", cmd: newVerifyCmd, code: exitViolation,
			args: func(t *testing.T) []string {
				relabelled := filepath.Join(t.TempDir(), "2026.2.0")
				if err := os.CopyFS(relabelled, os.DirFS(signedRelease(t))); err != nil {
					t.Fatal(err)
				}
				return []string{relabelled, "--key", k.Public, "--no-boot"}
			},
			first: func(a []string) string {
				return "release: version check failed: provenance.intoto.jsonl records release 2026.1.0, but it is being verified as release 2026.2.0 (" + a[0] +
					"): a signed release relabelled as another version; get release 2026.2.0 from where it was published under its own name"
			}},
		{name: "edited-sums", cmd: newVerifyCmd, code: exitViolation,
			args: func(t *testing.T) []string {
				root := signedRelease(t)
				f, err := os.OpenFile(filepath.Join(root, dist.SumsFile), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("\n")
				f.Close()
				return []string{root, "--key", k.Public, "--no-boot"}
			},
			first: func(a []string) string {
				return "release: signature check failed: SHA256SUMS was changed after it was signed: its sha256 is "
			}},
		{name: "unlisted-file", cmd: newSignCmd, code: exitViolation,
			args: func(t *testing.T) []string {
				root := releasetest.Attest(t, disttest.Build(t, t.TempDir())).Root
				os.WriteFile(filepath.Join(root, "x86_64", "extra.bin"), []byte("x"), 0o644)
				return []string{root, "--key", signingKey(t)}
			},
			first: func([]string) string {
				return "release: refusing to sign: x86_64/extra.bin is not listed in SHA256SUMS: re-run `release attest` to sum every file, or remove what does not belong in the release"
			}},
		{name: "truncated-tar", cmd: newInitrdCmd, code: exitBadInput,
			args: func(t *testing.T) []string {
				return []string{"--tar", hostileDir + "/truncated-tar/rootfs.tar", "--init", "none", "--arch", "x86_64", "-o", filepath.Join(t.TempDir(), "initrd.img")}
			},
			first: func(a []string) string {
				return "release: " + a[1] + ": tar member #2 usr/bin/kata-agent: read content: the tar stream is truncated (it ends inside this member): the file is incomplete (an interrupted export or download); export or fetch it again: unexpected EOF"
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args(t)
			r := runCLI(t, c.cmd(), map[string]string{"COSIGN_PASSWORD": signingPassword}, args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\n%s", r.code, c.code, r.stderr)
			}
			got, want := r.firstErrorLine(), c.first(args)
			if c.name == "edited-sums" {
				got = got[:min(len(got), len(want))] // the digest follows
			}
			if got != want {
				t.Errorf("first error line:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

const signingPassword = "hostile corpus"

// signingKey writes an encrypted cosign key pair, as `release keygen` does.
func signingKey(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	priv, _, err := sign.WriteKeyPair(dir, []byte(signingPassword))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}
