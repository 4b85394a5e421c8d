#!/usr/bin/env bash
# Install the host's Debian packages listed in hack/apt-packages.txt.
# Then the pinned kernel source for the kernelsrc tests. Idempotent: when everything is
# there it returns in about a second.
#
# Sourcing the script defines its functions and installs nothing, so tests can call one
# function in isolation (hack/hacktest).
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/deps.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=/var/cache/guestforge/src
readonly KERNEL_SERIES=6.12

# missing_packages LIST prints, one a line, the packages named in LIST (comments and blank
# lines allowed) that dpkg does not have installed.
missing_packages() {
  local pkg status
  while read -r pkg; do
    # dpkg-query fails for a package it has never heard of: that is "missing", not an error.
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=
    if [ "$status" != "install ok installed" ]; then printf '%s\n' "$pkg"; fi
  done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1")
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$here/apt-packages.txt")
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "hack/deps.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "hack/deps.sh: need root to apt-get install ${missing[*]}; run as root or install them yourself" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the lists are missing or older than a day: CI right after a
  # session reuses them, a fresh machine fetches them once.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    apt-get update -q >&2 || { echo "hack/deps.sh: apt-get update failed (see above): is the Debian mirror reachable?" >&2; exit 1; }
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    { echo "hack/deps.sh: apt-get install ${missing[*]} failed (see above)" >&2; exit 1; }
}

# kernel_series DIR prints the VERSION.PATCHLEVEL of the kernel tree in DIR, or nothing
# when DIR holds no kernel Makefile: on a fresh machine the source is not unpacked yet,
# which is why this runs, so it is no error.
kernel_series() {
  local makefile=$1/Makefile version patchlevel
  [ -f "$makefile" ] || return 0
  version=$(sed -n 's/^VERSION = //p' "$makefile")
  patchlevel=$(sed -n 's/^PATCHLEVEL = //p' "$makefile")
  if [ -n "$version" ] && [ -n "$patchlevel" ]; then printf '%s.%s\n' "$version" "$patchlevel"; fi
}

# The pinned kernel source, unpacked where the kernelsrc tests look for it. The archive
# comes from `release kernel-source`: toolchain.yaml's url, verified against its sha256
# by the same code the kernel pipeline uses (one manifest loader, one check).
install_kernel_source() {
  local tree=$src/linux-source-$KERNEL_SERIES archive
  [ "$(kernel_series "$tree")" != "$KERNEL_SERIES" ] || return 0
  archive=$(cd "$here/.." && go run ./cmd/release kernel-source) ||
    { echo "hack/deps.sh: release kernel-source could not fetch the kernel archive (see above)" >&2; exit 1; }
  echo "hack/deps.sh: unpacking $archive into $src" >&2
  mkdir -p "$src"
  case "$archive" in
  *.deb) dpkg-deb --fsys-tarfile "$archive" | tar -xO --wildcards './usr/src/linux-source-*.tar.*' | tar -xJ -C "$src" ;;
  *) echo "hack/deps.sh: $archive is not a Debian linux-source .deb; unpack it to $tree by hand" >&2; exit 1 ;;
  esac
  if [ "$(kernel_series "$tree")" != "$KERNEL_SERIES" ]; then
    echo "hack/deps.sh: $archive unpacked, but $tree/Makefile is not a $KERNEL_SERIES kernel: check toolchain.yaml's kernel url against KERNEL_SERIES in hack/deps.sh" >&2
    exit 1
  fi
}

# Sourced: the functions are defined, nothing is installed.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return 0; fi
install_packages
install_kernel_source
