#!/usr/bin/env bash
# Benchmark for issue 3: pack the same Debian minbase tree with `release initrd`
# (sorted, normalised, ELF-checked, parallel gzip) and with what Kata's osbuilder
# runs, `find . | cpio -o -H newc | gzip -9`. Prints both times (best of
# BENCH_RUNS), sizes and the ratios in one run. The goal is >= 3x faster at equal
# or smaller output; BENCH_STRICT=1 turns a miss into exit status 1.
#
# The tree is the cached minbase fixture (go run ./internal/boot/fixturecmd
# -minbase, built by mmdebstrap on first use), extracted once under
# /var/cache/guestforge/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod
runs=${BENCH_RUNS:-3}
for tool in cpio gzip find tar; do
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

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
best_kata=999999 best_ours=999999
for i in $(seq "$runs"); do
	t0=$(now)
	(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -9 >"$work/kata.img")
	t1=$(now)
	"$work/release" initrd --root "$tree" --init none --arch "$goarch" --compress gzip --epoch 0 -o "$work/ours.img" >/dev/null
	t2=$(now)
	kata=$(calc "$t1 - $t0") ours=$(calc "$t2 - $t1")
	printf 'run %d: find|cpio|gzip -9 %.2f s, release initrd %.2f s\n' "$i" "$kata" "$ours"
	best_kata=$(calc "($kata < $best_kata) ? $kata : $best_kata")
	best_ours=$(calc "($ours < $best_ours) ? $ours : $best_ours")
done

size_kata=$(stat -c %s "$work/kata.img") size_ours=$(stat -c %s "$work/ours.img")
entries_kata=$(gzip -dc "$work/kata.img" | cpio -t --quiet | grep -vc '^\.$')
entries_ours=$(gzip -dc "$work/ours.img" | cpio -t --quiet | wc -l)
speedup=$(calc "$best_kata / $best_ours")
size_ratio=$(calc "$size_ours / $size_kata")

echo
echo "tree: $tree ($(du -sb "$tree" | cut -f1) bytes, $entries_ours entries), $(nproc) CPUs, best of $runs"
printf '%-34s %9s %12s %8s\n' tool seconds bytes entries
printf '%-34s %9.2f %12d %8d\n' "find | cpio -o -H newc | gzip -9" "$best_kata" "$size_kata" "$entries_kata"
printf '%-34s %9.2f %12d %8d\n' "release initrd --compress gzip" "$best_ours" "$size_ours" "$entries_ours"
printf 'speed-up %.2fx, size ours/theirs %.4f\n' "$speedup" "$size_ratio"
if awk "BEGIN { exit !($speedup >= 3 && $size_ours <= $size_kata) }"; then
	echo "goal (>= 3x faster, output not larger): met"
else
	echo "goal (>= 3x faster, output not larger): NOT met"
	[ "${BENCH_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
