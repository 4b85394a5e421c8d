#!/usr/bin/env bash
# Install the Go-built tools the suite checks against, pinned, into a fixed cache
# outside the clone so a CI run right after a session reuses them.
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/tools.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
bin=${GUESTFORGE_BIN:-/var/cache/guestforge/bin}
mkdir -p "$bin"
# name  module@version
tools=(
  "staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2"
  "cosign github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
  "registry github.com/distribution/distribution/v3/cmd/registry@v3.1.2"
  "actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
)
for row in "${tools[@]}"; do
  read -r name pkg <<<"$row"
  stamp="$bin/.$name.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
    continue
  fi
  echo "hack/tools.sh: go install $pkg" >&2
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS='' go install "$pkg" ||
    { echo "hack/tools.sh: go install $pkg failed (see above): is the Go module proxy reachable?" >&2; exit 1; }
  echo "$pkg" >"$stamp"
done
