#!/usr/bin/env bash
# The whole test suite, in the three tiers of docs/architecture.md. This is what `make test`
# and .ci/run run; it provisions what it needs (Debian packages, Go tools, a Dagger
# engine when none is reachable) and fails, never skips, when something is missing in CI.
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/test.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger
export PATH=/var/cache/guestforge/bin:$PATH
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

step "provision: Debian packages, Go tools"
hack/deps.sh
hack/tools.sh

# Every test's temporary files go to a directory of this run's own, which must be empty
# when the tiers end: a test that leaves files behind (a kernel, images, a built binary)
# fills the disk of a machine that runs CI all day, so it fails the run by name here.
outer_tmp=${TMPDIR:-/tmp}
test_tmp=$(mktemp -d /var/tmp/guestforge-test.XXXXXX)
trap 'rm -rf "$test_tmp"' EXIT
export TMPDIR=$test_tmp

# The boot tier's rootfs fixtures (mmdebstrap, minutes when cold) build in the background
# while the earlier tiers run; the fixture code serialises concurrent callers with a lock.
mkdir -p /var/cache/guestforge/logs
(export TMPDIR=$outer_tmp; go run ./internal/boot/fixturecmd -image images/systemd.yaml && go run ./internal/boot/fixturecmd -minbase) \
  >/var/cache/guestforge/logs/fixtures.log 2>&1 &
fixtures=$!

step "static checks: gofmt, go vet, staticcheck, shellcheck"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then printf 'gofmt needed:\n%s\n' "$unformatted" >&2; exit 1; fi
go vet ./...
staticcheck ./...
shellcheck hack/*.sh hack/airgap/*.sh .ci/run

step "tier 1: unit tests (no engine), -race on the pure packages"
go test -race -count=1 ./...

# A budget in executions, not seconds: with a duration, Go's fuzz coordinator (before Go 1.27)
# can report "context deadline exceeded" as a failure when a worker on a loaded machine misses
# the stop deadline, with no input at fault (go.dev/issue/75804; it failed CI on 2026-12-04).
# 50000 runs is about what 5 s gave on 2 cores (1 to 25 s per target). A duration still works
# for a long local run, where a spurious failure costs a rerun, not a red CI.
fuzztime=${GUESTFORGE_FUZZTIME:-50000x}
step "fuzz: every Go fuzz target, -fuzztime $fuzztime each"
# Found by grep so a target someone adds runs without editing this list. go test -fuzz takes
# one package and one target at a time. ci/ is its own module and needs generated code.
fuzzed=0
while IFS= read -r file; do
  case $file in ./ci/*) continue ;; esac
  while IFS= read -r target; do
    go test -count=1 -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$(dirname "$file")" </dev/null
    fuzzed=$((fuzzed + 1))
  done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file")
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
if [ "$fuzzed" -eq 0 ]; then echo "hack/test.sh: found no Go fuzz target: is the grep above broken?" >&2; exit 1; fi

step "kernel fragments vs the real Kconfig of the pinned series (every arch x variant)"
go test -tags kernelsrc -count=1 -timeout 60m ./internal/kconfig/

step "tier 2: engine tests (Dagger pipelines)"
# Two steps, so a failing ensure stops the run (eval "$(...)" would swallow its status).
engine_env=$(TMPDIR=$outer_tmp hack/airgap/engine.sh ensure)
eval "$engine_env"
go test -tags engine -count=1 -timeout 60m ./...

step "tier 3: boot tests (QEMU, TCG)"
# The background job's output went to its log: a failure there must say where to look.
if ! wait "$fixtures"; then
  echo "hack/test.sh: building the boot tier's rootfs fixtures failed: see /var/cache/guestforge/logs/fixtures.log" >&2
  exit 1
fi
go test -tags boot -count=1 -timeout 45m ./...

leftovers=$(find "$test_tmp" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
if [ -n "$leftovers" ]; then
  printf 'hack/test.sh: the tests left these in their temporary directory %s (remove them in the test that made them, e.g. t.TempDir or TestMain):\n%s\n' "$test_tmp" "$leftovers" >&2
  exit 1
fi
step "all tiers passed"
