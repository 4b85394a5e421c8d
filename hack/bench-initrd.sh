#!/usr/bin/env bash
# Benchmark for issue 3: pack the same Debian minbase tree with `release initrd`
# (sorted, normalised, ELF-checked, parallel compression) and with what Kata's
# osbuilder runs, `find . | cpio -o -H newc | gzip -9`. Prints, in one run, the
# times (best of BENCH_RUNS; wall and CPU, because CI machines are shared),
# sizes and ratios for ours with zstd (the default) and with gzip.
# Goal: >= 3x faster at equal or smaller output. BENCH_STRICT=1 turns a miss of
# the default compression into exit status 1.
#
# The tree is the cached minbase fixture (go run ./internal/boot/fixturecmd
# -minbase, built by mmdebstrap on first use), extracted once next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod
runs=${BENCH_RUNS:-3}
for tool in cpio gzip find tar awk; do
	command -v "$tool" >/dev/null || { echo "bench-initrd: $tool not on PATH (hack/deps.sh installs it)" >&2; exit 2; }
done

fixture=$(go run ./internal/boot/fixturecmd -minbase)
tree=${fixture%.tar}.tree
if [ ! -d "$tree" ]; then
	tmp=$tree.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# Device nodes need root to extract; without root both packers get the
	# tree without /dev, so the comparison stays fair.
	excl=()
	[ "$(id -u)" = 0 ] || excl=(--exclude=./dev/*)
	tar -C "$tmp" --numeric-owner -xpf "$fixture" "${excl[@]}"
	mv "$tmp" "$tree"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/release" ./cmd/release
goarch=$(go env GOARCH)

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# measure NAME CMD...: runs CMD, appends "wall cpu" to $work/NAME.times.
measure() {
	local name=$1 t
	shift
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
	read -r wall user sys <<<"$t"
	echo "$wall $(calc "$user + $sys")" >>"$work/$name.times"
	printf '  %-8s %7.2f s wall %7.2f s cpu\n' "$name" "$wall" "$(calc "$user + $sys")"
}
kata() { cd "$tree" && find . | cpio -o -H newc --quiet | gzip -9 >"$work/kata.img"; }
ours() { "$work/release" initrd --root "$tree" --init none --arch "$goarch" --compress "$1" --epoch 0 -o "$work/$1.img"; }

for i in $(seq "$runs"); do
	echo "run $i:"
	measure kata kata
	measure zstd ours zstd
	measure gzip ours gzip
done

best() { sort -n "$work/$1.times" | head -1; }
read -r kata_wall kata_cpu <<<"$(best kata)"
size_kata=$(stat -c %s "$work/kata.img")
entries=$(gzip -dc "$work/kata.img" | cpio -t --quiet | grep -vc '^\.$')

echo
echo "tree: $tree"
echo "      $(du -sb "$tree" | cut -f1) bytes, $entries entries; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); best of $runs"
printf '%-36s %9s %9s %11s %8s %8s %9s\n' "packer" "wall s" "cpu s" "bytes" "speed-up" "cpu-x" "size"
printf '%-36s %9.2f %9.2f %11d %8s %8s %9s\n' "find | cpio -o -H newc | gzip -9" "$kata_wall" "$kata_cpu" "$size_kata" "1.00x" "1.00x" "1.0000"
status=0
for c in zstd gzip; do
	read -r wall cpu <<<"$(best "$c")"
	size=$(stat -c %s "$work/$c.img")
	n=$("$work/release" initrd ls "$work/$c.img" | wc -l)
	[ "$n" = "$entries" ] || { echo "bench-initrd: ours has $n entries, find|cpio $entries" >&2; exit 1; }
	speedup=$(calc "$kata_wall / $wall")
	printf '%-36s %9.2f %9.2f %11d %7.2fx %7.2fx %9.4f' "release initrd --compress $c" "$wall" "$cpu" "$size" "$speedup" "$(calc "$kata_cpu / $cpu")" "$(calc "$size / $size_kata")"
	if awk "BEGIN { exit !($speedup >= 3 && $size <= $size_kata) }"; then
		echo "  goal met"
	else
		echo "  goal NOT met"
		[ "$c" = zstd ] && status=1
	fi
done
[ "${BENCH_STRICT:-0}" = 1 ] && exit "$status"
exit 0
