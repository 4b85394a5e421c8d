#!/usr/bin/env bash
# Install the host's Debian packages listed in hack/apt-packages.txt.
# Idempotent: when everything is installed it returns in well under a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/apt-packages.txt")
missing=()
for pkg in "${wanted[@]}"; do
  pkg=$(echo "$pkg" | xargs)
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
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

# The pinned kernel source, unpacked where the kernelsrc tests look for it. The .deb is
# verified against toolchain.yaml's sha256; the pipeline's source cache is reused when present.
src=/var/cache/guestforge/src
kdeb_sha=$(sed -n 's/^  sha256: "\([0-9a-f]\{64\}\)".*/\1/p' "$here/../toolchain.yaml" | head -1)
kdeb_url=$(sed -n 's/^  url: "\(.*\)".*/\1/p' "$here/../toolchain.yaml" | head -1)
if [ ! -f "$src/linux-source-6.12/Makefile" ]; then
  mkdir -p "$src"
  deb="$src/$kdeb_sha-$(basename "$kdeb_url")"
  if [ ! -s "$deb" ]; then
    echo "hack/deps.sh: downloading $kdeb_url" >&2
    curl -fsSL --retry 3 -o "$deb.part" "$kdeb_url"
    mv "$deb.part" "$deb"
  fi
  if ! echo "$kdeb_sha  $deb" | sha256sum -c --quiet; then
    echo "hack/deps.sh: $deb does not match toolchain.yaml's sha256 $kdeb_sha; delete it and re-run" >&2
    exit 1
  fi
  echo "hack/deps.sh: unpacking the kernel source into $src" >&2
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-6.12.tar.xz | tar -xJ -C "$src"
fi
