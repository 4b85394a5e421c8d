#!/usr/bin/env bash
# `make bench`: one table, and dist/bench.json, of what makes the pipeline worth using, each part
# measured against its obvious alternative in the same run:
#
#   initrd   `release initrd` (zstd, gzip) vs `find | cpio -o -H newc | gzip -9` (Kata's
#            osbuilder) on the cached Debian minbase tree: wall and CPU time (best of
#            BENCH_RUNS, default 3), sizes, ratios
#   kernel   the pipeline's kernel build with every cache off vs the same make commands run
#            bare on the host (allnoconfig with the merged fragment, olddefconfig, make -j; same
#            source, identical .config checked) (BenchmarkKernelPipelineVsHost; arch
#            BENCH_KERNEL_ARCH, default uname -m; test variant): ratio of the totals over
#            BENCH_KERNEL_RUNS pairs (default 1; pairs alternate which side goes first), goal
#            <= 1.05. Each pair builds the kernel twice: tens of minutes on 2 cores
#   warm     `release build --all` of the BENCH_WARM_ARCH (default x86_64) matrix with test
#            kernels (BENCH_FULL=1: every target variant), once to warm up, then timed again
#            with nothing changed
#   boot     QEMU (TCG without KVM) from start to the probe line: the warm build's kernel with
#            its initrd-default.img (BenchmarkBootToProbe)
#   size     the warm build's initrds and rootfs images against their images/*.yaml budgets
#
# BENCH_SKIP=kernel,boot,... leaves parts out (they show as "not measured" with the reason);
# BENCH_OUT (default dist/bench.json) is where the JSON goes. Provisions Debian packages and a
# Dagger engine like the main job. Exit 0 when everything asked for was measured.
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/bench.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger
runs=${BENCH_RUNS:-3}
skip=",${BENCH_SKIP:-},"
out=${BENCH_OUT:-dist/bench.json}
warm_arch=${BENCH_WARM_ARCH:-x86_64}
logs=/var/cache/guestforge/logs
mkdir -p "$logs"

want() { [[ $skip != *",$1,"* ]]; }
say() { printf '\n== bench: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

hack/deps.sh
for tool in cpio gzip find tar awk; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not on PATH (hack/deps.sh installs it)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw=$work/raw.txt
go build -o "$work/release" ./cmd/release
echo "host cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,) date=$(date -u +%FT%TZ)" >>"$raw"

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# measure NAME CMD...: runs CMD, appends "wall cpu" to $work/NAME.times.
measure() {
	local name=$1 t wall user sys
	shift
	# The command's output is thrown away for the timing: on failure, say which one to rerun.
	t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ) ||
		{ echo "bench: $name: '$*' failed; run it by hand to see why" >&2; exit 1; }
	read -r wall user sys <<<"$t"
	echo "$wall $(calc "$user + $sys")" >>"$work/$name.times"
}
best() { sort -n "$work/$1.times" | head -1; }
# bench_metric LOG UNIT: the value go test -bench printed before UNIT. Call it in an assignment
# of its own: inside another command's arguments its failure would go unnoticed.
bench_metric() {
	awk -v unit="$2" '/^Benchmark/ { for (i = 2; i < NF; i++) if ($(i + 1) == unit) v = $i } END { if (v == "") exit 1; print v }' "$1" ||
		{ echo "bench: $1 has no $2 metric: the benchmark failed or was skipped (see $1)" >&2; exit 1; }
}

if want initrd; then
	say "initrd: release initrd vs find|cpio|gzip -9, best of $runs"
	fixture=$(go run ./internal/boot/fixturecmd -minbase)
	tree=${fixture%.tar}.tree
	if [ ! -d "$tree" ]; then
		# The fixture tree extracted once and kept (device nodes need root).
		tmp=$tree.tmp
		rm -rf "$tmp"
		mkdir -p "$tmp"
		excl=()
		[ "$(id -u)" = 0 ] || excl=(--exclude=./dev/*)
		tar -C "$tmp" --numeric-owner -xpf "$fixture" "${excl[@]}"
		mv "$tmp" "$tree"
	fi
	goarch=$(go env GOARCH)
	kata() { (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -9 >"$work/kata.img"); }
	ours() { "$work/release" initrd --root "$tree" --init none --arch "$goarch" --compress "$1" --epoch 0 -o "$work/$1.img"; }
	for _ in $(seq "$runs"); do
		measure kata kata
		measure zstd ours zstd
		measure gzip ours gzip
	done
	entries=$(gzip -dc "$work/kata.img" | cpio -t --quiet | grep -vc '^\.$')
	echo "initrd tree=$tree tree_bytes=$(du -sb "$tree" | cut -f1) entries=$entries runs=$runs" >>"$raw"
	read -r wall cpu <<<"$(best kata)"
	echo "initrd.packer name=find|cpio|gzip-9 baseline=true wall=$wall cpu=$cpu bytes=$(stat -c %s "$work/kata.img")" >>"$raw"
	for c in zstd gzip; do
		n=$("$work/release" initrd ls "$work/$c.img" | wc -l)
		[ "$n" = "$entries" ] || { echo "bench: release initrd --compress $c has $n entries, find|cpio $entries" >&2; exit 1; }
		read -r wall cpu <<<"$(best "$c")"
		echo "initrd.packer name=release-initrd-$c wall=$wall cpu=$cpu bytes=$(stat -c %s "$work/$c.img")" >>"$raw"
	done
else
	echo "skipped initrd BENCH_SKIP" >>"$raw"
fi

needs_engine=false
for part in kernel warm boot size; do want "$part" && needs_engine=true; done
if $needs_engine; then
	# Two steps, so a failing ensure stops the script (eval "$(...)" would swallow its status).
	engine_env=$(hack/airgap/engine.sh ensure)
	eval "$engine_env"
fi

if want kernel; then
	karch=${BENCH_KERNEL_ARCH:-$(uname -m)}
	kruns=${BENCH_KERNEL_RUNS:-1}
	say "kernel: pipeline vs bare make -j ($karch, test variant; builds the kernel $((2 * kruns)) times)"
	log=$logs/bench-kernel.log
	GUESTFORGE_BENCH_ARCH=$karch GUESTFORGE_BENCH_PAIRS=$kruns go test -tags engine -run '^$' -bench BenchmarkKernelPipelineVsHost -benchtime 1x -timeout $((60 + 60 * kruns))m ./internal/build/ | tee "$log" >&2
	pipeline_s=$(bench_metric "$log" pipeline-s)
	host_s=$(bench_metric "$log" host-s)
	ratio=$(bench_metric "$log" ratio)
	echo "kernel arch=$karch variant=test pipeline_s=$pipeline_s host_s=$host_s ratio=$ratio" >>"$raw"
else
	echo "skipped kernel BENCH_SKIP (it builds a kernel twice with the cache off)" >>"$raw"
fi

report=""
if want warm || want boot || want size; then
	kernels=(--test)
	kdesc="test"
	if [ "${BENCH_FULL:-0}" = 1 ]; then kernels=(); kdesc=targets; fi
	dist=$work/dist
	say "warm rebuild: release build --all ${kernels[*]} --arch $warm_arch (warm-up run first)"
	"$work/release" build --all "${kernels[@]}" --arch "$warm_arch" --out "$dist" >"$logs/bench-warmup.log" 2>&1 ||
		{ echo "bench: the warm-up build failed; see $logs/bench-warmup.log" >&2; tail -20 "$logs/bench-warmup.log" >&2; exit 1; }
	start=$(date +%s.%N)
	"$work/release" build --all "${kernels[@]}" --arch "$warm_arch" --out "$dist" >"$logs/bench-warm.log" 2>&1 ||
		{ echo "bench: the warm rebuild failed; see $logs/bench-warm.log" >&2; exit 1; }
	seconds=$(calc "$(date +%s.%N) - $start")
	report=$dist/report.json
	if want warm; then
		echo "warm arch=$warm_arch kernels=$kdesc seconds=$seconds" >>"$raw"
	else
		echo "skipped warm BENCH_SKIP" >>"$raw"
	fi
	if want boot; then
		kernel=$(find "$dist/$warm_arch" -name 'vmlinuz-*' ! -name '*.sigstore.json' | sort | head -1)
		[ -n "$kernel" ] || kernel=$(find "$dist/$warm_arch" -name 'vmlinux-*' ! -name '*.sigstore.json' | sort | head -1)
		[ -n "$kernel" ] || { echo "bench: the warm build left no vmlinuz-* or vmlinux-* in $dist/$warm_arch (see $logs/bench-warm.log)" >&2; exit 1; }
		initrd=$dist/$warm_arch/initrd-default.img
		say "boot: QEMU to the probe line ($(basename "$kernel") + initrd-default.img)"
		log=$logs/bench-boot.log
		GUESTFORGE_BENCH_ARCH=$warm_arch GUESTFORGE_BENCH_KERNEL=$kernel GUESTFORGE_BENCH_INITRD=$initrd \
			go test -tags boot -run '^$' -bench BenchmarkBootToProbe -benchtime 1x -timeout 15m ./internal/build/ | tee "$log" >&2
		boot_s=$(bench_metric "$log" boot-s)
		echo "boot arch=$warm_arch kernel=$(basename "$kernel") initrd=$(basename "$initrd") seconds=$boot_s" >>"$raw"
	else
		echo "skipped boot BENCH_SKIP" >>"$raw"
	fi
	want size || report=""
else
	for part in warm boot size; do echo "skipped $part BENCH_SKIP" >>"$raw"; done
fi

say "results"
cp "$raw" "$logs/bench-raw.txt"
"$work/release" bench --raw "$raw" ${report:+--report "$report"} --images images --json "$out"
