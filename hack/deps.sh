#!/usr/bin/env bash
# Install the host's Debian packages listed in hack/apt-packages.txt.
# Then the pinned kernel source for the kernelsrc tests. Idempotent: when everything is
# there it returns in about a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/apt-packages.txt")
missing=()
for pkg in "${wanted[@]}"; do
  pkg=$(echo "$pkg" | xargs)
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hack/deps.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "hack/deps.sh: need root to apt-get install ${missing[*]}; run as root or install them yourself" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the lists are missing or older than a day: CI right after a
  # session reuses them, a fresh machine fetches them once.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    apt-get update -q >&2
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# The pinned kernel source, unpacked where the kernelsrc tests look for it. The archive
# comes from `release kernel-source`: toolchain.yaml's url, verified against its sha256
# by the same code the kernel pipeline uses (one manifest loader, one check).
src=/var/cache/guestforge/src
series=$(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p' "$src/linux-source-6.12/Makefile" 2>/dev/null | paste -sd. || true)
if [ "$series" != "6.12" ]; then
  archive=$(cd "$here/.." && go run ./cmd/release kernel-source)
  echo "hack/deps.sh: unpacking $archive into $src" >&2
  case "$archive" in
  *.deb) dpkg-deb --fsys-tarfile "$archive" | tar -xO --wildcards './usr/src/linux-source-*.tar.*' | tar -xJ -C "$src" ;;
  *) echo "hack/deps.sh: $archive is not a Debian linux-source .deb; unpack it to $src/linux-source-6.12 by hand" >&2; exit 1 ;;
  esac
fi
