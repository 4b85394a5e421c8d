package main

// The runbook cannot drift from the CLI: every `release ...` line in a shell
// block of docs/runbook.md is run against a temporary git repository that
// has a release in progress, with --dry-run where the command has it. A
// renamed flag, a removed subcommand or a changed exit code fails here.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/release/changes/changestest"
	"github.com/guestforge/guestforge/internal/release/disttest"
	"github.com/guestforge/guestforge/internal/release/sign"
)

const runbookPath = "../../docs/runbook.md"

// runbookCommand is one `release` line and where it is written.
type runbookCommand struct {
	line int
	text string
}

// runbookCommands returns the release commands of the shell blocks, with
// backslash continuations joined.
func runbookCommands(t *testing.T, path string) []runbookCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []runbookCommand
		inShell bool
		fenced  bool
		pending string
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if fenced {
				fenced, inShell = false, false
				continue
			}
			fenced = true
			info := strings.TrimPrefix(trimmed, "```")
			inShell = info == "sh" || info == "bash" || info == "shell"
			continue
		}
		if !inShell {
			continue
		}
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		full := strings.TrimSpace(pending + trimmed)
		pending = ""
		if full == "release" || strings.HasPrefix(full, "release ") {
			out = append(out, runbookCommand{line: start, text: full})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// shellWords splits a command line the way sh would for the simple lines
// a runbook holds: quotes, backslashes, $VAR and ${VAR} from env, and a
// trailing # comment. Anything else (pipes, substitutions, redirections)
// is refused, so the runbook keeps to commands people can paste.
func shellWords(line string, env map[string]string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		have  bool
		quote rune
	)
	expand := func(rs []rune, i int) (string, int, error) {
		j := i + 1
		var name string
		if j < len(rs) && rs[j] == '{' {
			k := j + 1
			for k < len(rs) && rs[k] != '}' {
				k++
			}
			if k == len(rs) {
				return "", 0, fmt.Errorf("unclosed ${")
			}
			name, j = string(rs[j+1:k]), k+1
		} else {
			k := j
			for k < len(rs) && (rs[k] == '_' || rs[k] >= 'A' && rs[k] <= 'Z' || rs[k] >= 'a' && rs[k] <= 'z' || rs[k] >= '0' && rs[k] <= '9') {
				k++
			}
			name, j = string(rs[j:k]), k
		}
		if name == "" {
			return "", 0, fmt.Errorf("$ without a variable name")
		}
		v, ok := env[name]
		if !ok {
			return "", 0, fmt.Errorf("$%s is not one of the runbook's variables", name)
		}
		return v, j, nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
			i++
		case quote == '"':
			switch c {
			case '"':
				quote = 0
				i++
			case '$':
				v, j, err := expand(rs, i)
				if err != nil {
					return nil, err
				}
				cur.WriteString(v)
				i = j
			case '\\':
				if i+1 < len(rs) {
					cur.WriteRune(rs[i+1])
				}
				i += 2
			case '`':
				return nil, fmt.Errorf("command substitution")
			default:
				cur.WriteRune(c)
				i++
			}
		default:
			switch {
			case c == ' ' || c == '\t':
				if have {
					words = append(words, cur.String())
					cur.Reset()
					have = false
				}
				i++
				continue
			case c == '#' && !have:
				return words, nil
			case c == '\'' || c == '"':
				quote = c
				i++
			case c == '$':
				v, j, err := expand(rs, i)
				if err != nil {
					return nil, err
				}
				cur.WriteString(v)
				i = j
			case c == '\\' && i+1 < len(rs):
				cur.WriteRune(rs[i+1])
				i += 2
			case strings.ContainsRune("|&;<>()`", c):
				return nil, fmt.Errorf("shell syntax %q", c)
			default:
				cur.WriteRune(c)
				i++
			}
			have = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote")
	}
	if have {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	env := map[string]string{"A": "x y", "B": "b"}
	for line, want := range map[string][]string{
		`release cut --key "$A" # comment`: {"release", "cut", "--key", "x y"},
		`release a${B}c 'it''s' "q\"q"`:    {"release", "abc", "its", `q"q`},
		`release verify "r:$B" --no-boot`:  {"release", "verify", "r:b", "--no-boot"},
	} {
		got, err := shellWords(line, env)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", line, got, err, want)
		}
	}
	for _, bad := range []string{`release plan | less`, `release cut --key $(pass key)`, `release x "open`, `release $NOPE`} {
		if _, err := shellWords(bad, env); err == nil {
			t.Errorf("shellWords(%q) accepted", bad)
		}
	}
}

// runOnly are subcommands without --dry-run that change nothing, so the
// test runs them as written. Everything else without --dry-run (keygen,
// sign, publish, attest, policy bump --write) is only parsed.
func readOnly(args []string) bool {
	switch {
	case len(args) >= 2 && args[1] == "plan":
		return true
	case len(args) >= 3 && args[1] == "policy" && args[2] == "check":
		return true
	case len(args) >= 3 && args[1] == "policy" && args[2] == "bump":
		return !slices.Contains(args, "--write")
	case len(args) >= 2 && args[1] == "support-matrix":
		return slices.Contains(args, "--check")
	}
	return false
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func TestRunbookCommandsRunAgainstTheCLI(t *testing.T) {
	f := newRelFixture(t)
	data, err := os.ReadFile("../../internal/release/plan/testdata/toolchain-2arch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A repository whose manifest matches the disttest artifacts, with a
	// release candidate on an older commit (so the major commands have a
	// candidate to promote) and v1.2.0 cut up to its signature: the
	// --resume commands then have a real cut to continue.
	f.repo = changestest.History(t, data)
	f.repo.Git("2026-04-15", "config", "user.name", "Release Manager")
	f.repo.Git("2026-04-15", "config", "user.email", "rm@example.invalid")
	f.repo.Git("2026-04-01", "tag", "-a", "-m", "rc", "v2.0.0-rc.1", "HEAD~1")
	artifacts := filepath.Join(disttest.Build(t, t.TempDir()))
	home := t.TempDir()
	key := filepath.Join(f.keyDir, sign.PrivateKeyFile)
	res := f.run(t, "cut", "--until", "sign", "--artifacts", artifacts, "--key", key, "--feeds", f.feeds, "--as-of", "2026-04-15")
	if res.code != 0 {
		t.Fatalf("set up a cut in progress: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	// The checkout's package locks, so `release lock` has the locks of a real checkout
	// to survey (the manifest and image definitions ask for the same packages).
	if err := os.CopyFS(filepath.Join(f.repo.Dir, "builders"), os.DirFS(filepath.Join("..", "..", "builders"))); err != nil {
		t.Fatal(err)
	}
	locks, err := filepath.Glob(filepath.Join("..", "..", "images", "*.lock"))
	if err != nil || len(locks) == 0 {
		t.Fatalf("no images/*.lock in this checkout (%v)", err)
	}
	for _, l := range locks {
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.repo.Dir, "images", filepath.Base(l)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	env := map[string]string{
		"HOME": home, "PWD": f.repo.Dir, "VERSION": "v1.2.0", "ARTIFACTS": artifacts,
		"RELEASE_KEY": key, "RELEASE_PUB": filepath.Join(f.keyDir, sign.PublicKeyFile),
		"COSIGN_PASSWORD": "unused: the environment carries it",
	}
	runEnv := append(slices.Clone(f.env), "HOME="+home)

	cmds := runbookCommands(t, runbookPath)
	if len(cmds) < 10 {
		t.Fatalf("found %d release commands in %s; the extraction is broken", len(cmds), runbookPath)
	}
	ran := map[string]int{}
	for _, c := range cmds {
		args, err := shellWords(c.text, env)
		if err != nil {
			t.Errorf("%s:%d: %q: %v", runbookPath, c.line, c.text, err)
			continue
		}
		// Parse: the subcommand exists and takes these flags.
		help := relRun(t, f.repo.Dir, runEnv, append(slices.Clone(args[1:]), "--help")...)
		if help.code != 0 {
			t.Errorf("%s:%d: %q does not parse: exit %d\n%s", runbookPath, c.line, c.text, help.code, help.stderr)
			continue
		}
		run := slices.Clone(args[1:])
		if strings.Contains(help.stdout, "--feeds") && !hasFlag(run, "--feeds") {
			run = append(run, "--feeds", f.feeds)
		}
		if strings.Contains(help.stdout, "--as-of") && !hasFlag(run, "--as-of") {
			run = append(run, "--as-of", "2026-04-15")
		}
		switch {
		case strings.Contains(help.stdout, "--dry-run"):
			if !hasFlag(run, "--dry-run") {
				run = append(run, "--dry-run")
			}
		case readOnly(args):
		default:
			t.Logf("%s:%d: parsed only (changes state, has no --dry-run): %s", runbookPath, c.line, c.text)
			continue
		}
		res := relRun(t, f.repo.Dir, runEnv, run...)
		if res.code != 0 {
			t.Errorf("%s:%d: `release %s` exit %d\nstdout:\n%s\nstderr:\n%s", runbookPath, c.line, strings.Join(run, " "), res.code, res.stdout, res.stderr)
			continue
		}
		ran[args[1]]++
	}
	// The commands the month depends on were really run, not just parsed.
	if ran["plan"] < 5 || ran["cut"] < 5 || ran["policy"] < 2 || ran["lock"] < 1 {
		t.Errorf("ran %v; want the plan, cut, policy and lock commands of the runbook executed", ran)
	}
	// Nothing the dry runs did changed the release in progress.
	res = f.run(t, "cut", "--resume", "--dry-run", "--key", key, "--feeds", f.feeds)
	if res.code != 0 || !strings.Contains(res.stdout, "Dry run complete: 4 stages would run, 4 are already done.") {
		t.Errorf("after the runbook: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}
