#!/usr/bin/env bash
# hack/airgap/engine.sh: a Dagger engine on a host that reaches only the Go module proxy and
# Debian's mirror (no container registry, no docker daemon, no dl.dagger.io).
#
#   engine.sh provision   build CLI/engine/helpers v0.19.10 from the Go proxy, a Debian base
#                         image (mmdebstrap -> OCI) and the Go SDK runtime image (for `dagger call`)
#   engine.sh start       run the engine natively as root, in a private mount namespace
#   engine.sh stop        stop it and remove the dagger0 bridge and its NAT rules
#   engine.sh status      say whether it runs (exit 0) or not (exit 3)
#   engine.sh env         print the export lines the dagger CLI and the Go SDK need
#   engine.sh ensure      provision if needed, start if not running, print the export lines;
#                         prints nothing when a reachable engine already exists (an answering
#                         _EXPERIMENTAL_DAGGER_RUNNER_HOST, or docker), so the stock path wins.
#
# Use: eval "$(hack/airgap/engine.sh ensure)"
# Everything lives under $GUESTFORGE_ENGINE_DIR (default /var/cache/guestforge/engine).
# Progress goes to stderr; stdout carries only export lines. Every step is cached by a key
# of its inputs, so a second `ensure` is a few file checks.
#
# Sourcing the script (`. hack/airgap/engine.sh`) defines its functions and runs no command,
# so tests can call one function in isolation (hack/hacktest).
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/airgap/engine.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR

readonly DAGGER_VERSION=v0.19.10 # newest dagger whose whole dependency graph the Go proxy serves
readonly ROOT=${GUESTFORGE_ENGINE_DIR:-/var/cache/guestforge/engine}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly REPO
readonly SELF="$REPO/hack/airgap/engine.sh"
readonly SOCK="$ROOT/run/engine.sock"
readonly PIDFILE="$ROOT/engine.pid"
readonly LOG="$ROOT/logs/engine.log"
readonly BASE_SUITE=bookworm
readonly BRIDGE=dagger0 # created by the engine's CNI config (10.87.0.0/16)
# Bump a recipe number when you change how that image is made (mkoci/internal/build/ociarchive
# for the base image, gosdkimage/internal/build/gosdk for the Go SDK image): the next ensure
# rebuilds it. Versions of dagger and Go are part of the keys already.
readonly BASE_RECIPE=1
readonly GOSDK_RECIPE=1

export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger
export DO_NOT_TRACK=1 DAGGER_NO_NAG=1

# stdout is reserved for export lines: everything else goes to stderr through fd 1.
exec 3>&1 1>&2

say() { printf 'engine.sh: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
now() { date +%s; }
sha() { sha256sum | cut -c1-16; }

# ---- cache keys: a step reruns only when its key changes ---------------------------------

bin_key() {
	printf '%s|%s|%s' "$DAGGER_VERSION" "$(go env GOVERSION)" \
		"$(cat "$REPO"/hack/airgap/distconsts/* | sha)"
}
base_key() {
	printf '%s|minbase|ca-certificates|%s|recipe-%s' "$BASE_SUITE" "$(dpkg --print-architecture)" "$BASE_RECIPE"
}
gosdk_key() {
	printf '%s|%s|%s|recipe-%s' "$(bin_key)" "$(base_key)" "$(go env GOVERSION)" "$GOSDK_RECIPE"
}
stamp_ok() { [ -f "$ROOT/stamps/$1" ] && [ "$(cat "$ROOT/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$ROOT/stamps" && printf '%s' "$2" >"$ROOT/stamps/$1"; }

provisioned() {
	stamp_ok bin "$(bin_key)" && stamp_ok base "$(base_key)" && stamp_ok gosdk "$(gosdk_key)"
}

# ---- provision -----------------------------------------------------------------------------

need_host_tools() {
	"$REPO/hack/deps.sh"
	local missing=()
	# tool -> Debian package, so the error says what to install.
	local t
	for t in runc:runc mmdebstrap:mmdebstrap ip:iproute2 iptables:iptables unshare:util-linux \
		/usr/lib/cni/bridge:containernetworking-plugins dnsmasq:dnsmasq-base git:git; do
		if [[ ${t%%:*} == /* ]]; then [ -x "${t%%:*}" ] || missing+=("${t#*:}"); else
			command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
		fi
	done
	[ ${#missing[@]} -eq 0 ] || die "missing Debian packages: ${missing[*]} (add them to hack/apt-packages.txt or apt-get install them)"
	command -v go >/dev/null || die "go not on PATH: install Go >= 1.25 (the repo pins $(sed -n 's/^go //p' "$REPO/go.mod"))"
	[ "$(id -u)" -eq 0 ] || die "the native engine needs root (mount namespaces, bridges, iptables)"
}

# module_dir prints where the Go module cache holds MODULE@VERSION, downloading it first.
module_dir() {
	local dir
	# A failed download must reach the die, not end the script at the assignment.
	dir=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
	[ -d "$dir" ] || die "go mod download $1 failed (see the go output above): is the Go module proxy reachable (GOPROXY=$(go env GOPROXY))?"
	printf '%s\n' "$dir"
}

# The dagger module zip lacks its two nested modules (sdk/go and engine/distconsts) that its
# go.mod replaces to local paths: refill sdk/go from dagger.io/dagger at the same version and
# distconsts from hack/airgap/distconsts.
fetch_source() {
	local mod sdk
	# module_dir's die has said why: exit without the ERR trap repeating it.
	mod=$(module_dir "github.com/dagger/dagger@$DAGGER_VERSION") || exit 1
	sdk=$(module_dir "dagger.io/dagger@$DAGGER_VERSION") || exit 1
	rm -rf "$ROOT/src"
	cp -r "$mod" "$ROOT/src"
	chmod -R u+w "$ROOT/src"
	rm -rf "$ROOT/src/sdk/go"
	cp -r "$sdk" "$ROOT/src/sdk/go"
	chmod -R u+w "$ROOT/src/sdk/go"
	rm -rf "$ROOT/src/engine/distconsts"
	cp -r "$REPO/hack/airgap/distconsts" "$ROOT/src/engine/distconsts"
}

build_binaries() {
	local key t0
	key=$(bin_key)
	if stamp_ok bin "$key"; then return; fi
	t0=$(now)
	say "fetching dagger $DAGGER_VERSION source from the Go module proxy"
	fetch_source
	say "building dagger CLI, engine, init, dnsname, codegen (about 7 min on 2 cores with cold Go caches)"
	local ld="-s -w -X github.com/dagger/dagger/engine.Version=$DAGGER_VERSION -X github.com/dagger/dagger/engine.Tag=$DAGGER_VERSION"
	mkdir -p "$ROOT/bin"
	# set -e does not apply inside a group that has an || after it: && makes the first failing
	# build the group's status instead of the last build's.
	(
		cd "$ROOT/src" &&
			export CGO_ENABLED=0 &&
			go build -trimpath -ldflags "$ld" -o "$ROOT/bin/dagger" ./cmd/dagger &&
			go build -trimpath -ldflags "$ld" -o "$ROOT/bin/dagger-engine" ./cmd/engine &&
			go build -trimpath -ldflags "-s -w" -o "$ROOT/bin/dagger-init" ./cmd/init &&
			go build -trimpath -ldflags "-s -w" -o "$ROOT/bin/dnsname" ./cmd/dnsname &&
			go build -trimpath -ldflags "$ld" -o "$ROOT/bin/codegen" ./cmd/codegen
	) || die "building dagger $DAGGER_VERSION from $ROOT/src failed (see the go output above)"
	# The CLI gets a directory of its own so PATH does not expose the engine's helpers.
	mkdir -p "$ROOT/cli"
	ln -sf "$ROOT/bin/dagger" "$ROOT/cli/dagger"
	stamp_set bin "$key"
	say "binaries built in $(($(now) - t0)) s"
}

build_base_image() {
	local key t0 img="$ROOT/images/base-$BASE_SUITE.oci.tar"
	key=$(base_key)
	if stamp_ok base "$key" && [ -s "$img" ]; then return; fi
	t0=$(now)
	mkdir -p "$ROOT/images"
	say "building the OCI converter (hack/airgap/mkoci)"
	(cd "$REPO" && go build -o "$ROOT/bin/mkoci" ./hack/airgap/mkoci) || die "go build ./hack/airgap/mkoci failed"
	say "mmdebstrap $BASE_SUITE (minbase + ca-certificates) -> $img"
	mmdebstrap --quiet --variant=minbase --include=ca-certificates "$BASE_SUITE" "$ROOT/images/base-$BASE_SUITE.rootfs.tar" \
		"deb http://deb.debian.org/debian $BASE_SUITE main" \
		"deb http://deb.debian.org/debian-security $BASE_SUITE-security main" >"$ROOT/logs/mmdebstrap-base.log" 2>&1 ||
		die "mmdebstrap failed, see $ROOT/logs/mmdebstrap-base.log (is deb.debian.org reachable?)"
	"$ROOT/bin/mkoci" -arch "$(dpkg --print-architecture)" "$ROOT/images/base-$BASE_SUITE.rootfs.tar" "$img.tmp" ||
		die "mkoci could not convert $ROOT/images/base-$BASE_SUITE.rootfs.tar into an OCI archive (see its output above)"
	mv "$img.tmp" "$img"
	rm -f "$ROOT/images/base-$BASE_SUITE.rootfs.tar"
	stamp_set base "$key"
	say "base image built in $(($(now) - t0)) s"
}

# The stock engine image bundles a Go SDK runtime image (golang:alpine + codegen + warm
# caches) that `dagger call` on a Go module runs in. No registry here, so the running engine
# builds an equivalent from the Debian base image, the host's Go and our codegen; start then
# loads it into the engine's builtin content store.
build_gosdk_image() {
	local key t0 img="$ROOT/images/gosdk.oci.tar"
	key=$(gosdk_key)
	if stamp_ok gosdk "$key" && [ -s "$img" ]; then return; fi
	t0=$(now)
	rm -f "$img"
	if running; then stop_engine; fi
	start_engine
	say "building the Go SDK runtime image with the engine (about 2.5 min)"
	(cd "$REPO" && _EXPERIMENTAL_DAGGER_RUNNER_HOST="unix://$SOCK" _EXPERIMENTAL_DAGGER_CLI_BIN="$ROOT/bin/dagger" \
		go run ./hack/airgap/gosdkimage -base "$ROOT/images/base-$BASE_SUITE.oci.tar" \
		-goroot "$(go env GOROOT)" -codegen "$ROOT/bin/codegen" -sdk "$ROOT/src/sdk/go" -out "$img.tmp") || die "building the Go SDK runtime image failed (engine log: $LOG)"
	mv "$img.tmp" "$img"
	stop_engine
	stamp_set gosdk "$key"
	say "Go SDK runtime image built in $(($(now) - t0)) s"
}

provision() {
	local t0
	t0=$(now)
	mkdir -p "$ROOT"/{bin,images,logs,run,state,stamps}
	need_host_tools
	build_binaries
	build_base_image
	build_gosdk_image
	say "provisioned in $(($(now) - t0)) s ($ROOT)"
}

# ---- run -------------------------------------------------------------------------------------

running() {
	local pid
	[ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && kill -0 "$pid" 2>/dev/null && [ -S "$SOCK" ]
}

# The engine expects to own /usr/local/bin, /opt/cni/bin, /run, /etc/dagger and its builtin
# content dir, as it does in its own image. A private mount namespace gives it those paths
# without changing the host's view of them.
prepare_namespace() {
	local ns="$ROOT/ns" runc
	# provision checked the host tools, but a later start may find runc uninstalled.
	runc=$(command -v runc) || die "runc not on PATH: install the Debian package runc (hack/deps.sh installs it)"
	mkdir -p "$ns"/{usr-local-bin,opt/cni/bin,etc-up/dagger,etc-work,content,cacerts} "$ROOT/state" "$ROOT/run" "$ROOT/logs"
	ln -sf "$runc" "$ns/usr-local-bin/runc"
	cp -f "$ROOT/bin/dagger-init" "$ns/usr-local-bin/dagger-init"
	local p
	for p in bridge loopback firewall host-local; do ln -sf "/usr/lib/cni/$p" "$ns/opt/cni/bin/$p"; done
	cp -f "$ROOT/bin/dnsname" "$ns/opt/cni/bin/dnsname"
	# The engine installs these CAs into every container: with them, HTTPS through a
	# TLS-intercepting egress proxy works inside pipelines as it does on the host.
	rm -rf "$ns/cacerts" && mkdir -p "$ns/cacerts"
	cp -L /usr/local/share/ca-certificates/*.crt "$ns/cacerts/" 2>/dev/null || true
	: >"$ROOT/engine.toml"
	# Cache limits in bytes, not the engine's percentage defaults (75% of the disk used,
	# 20% free): a thin-provisioned disk (this CI machine's says 252G and holds ~90G)
	# fills up long before a percentage of its nominal size is reached, and the engine
	# then fails builds with ENOSPC instead of pruning. ENGINE_GC_* override them.
	printf '{"logLevel":"%s","gc":{"maxUsedSpace":"%s","reservedSpace":"%s","minFreeSpace":"%s"}}\n' \
		"${ENGINE_LOG_LEVEL:-info}" "${ENGINE_GC_MAX_USED:-30GB}" "${ENGINE_GC_RESERVED:-10GB}" \
		"${ENGINE_GC_MIN_FREE:-15GB}" >"$ns/etc-up/dagger/engine.json"
	# Unpacking 300 MB of blobs takes a while on a busy machine: only when the image changed.
	local digest
	digest=$(gosdk_digest) || exit 1 # gosdk_digest's die has said why
	if [ "$(cat "$ns/content/.digest" 2>/dev/null)" != "$digest" ]; then
		rm -rf "$ns/content/blobs" "$ns/content/.digest"
		if [ -n "$digest" ]; then
			tar -xf "$ROOT/images/gosdk.oci.tar" -C "$ns/content" blobs
			printf '%s' "$digest" >"$ns/content/.digest"
		fi
	fi
}

# gosdk_digest is the Go SDK image's manifest digest (empty without the image), read once
# from the archive's index.json and remembered next to it.
gosdk_digest() {
	local img="$ROOT/images/gosdk.oci.tar" memo="$ROOT/images/gosdk.digest"
	[ -s "$img" ] || return 0
	if [ ! -s "$memo" ] || [ "$memo" -ot "$img" ]; then
		tar -xOf "$img" index.json | { grep -o '"digest":"sha256:[0-9a-f]*"' || true; } | head -1 | cut -d'"' -f4 >"$memo"
		[ -s "$memo" ] || die "$img has no manifest digest in its index.json: remove it and run '$SELF provision' to rebuild it"
	fi
	cat "$memo"
}

# _run is the engine process itself (start launches it detached). It writes its own pid, then
# execs, so the pid file names the engine.
run_engine() {
	local ns="$ROOT/ns" sdkenv=() digest
	digest=$(gosdk_digest) || exit 1 # gosdk_digest's die has said why
	# Without this the engine would pull golang:alpine for `dagger call` on a Go module.
	if [ -n "$digest" ]; then sdkenv=("DAGGER_GO_SDK_MANIFEST_DIGEST=$digest"); fi
	echo $$ >"$PIDFILE"
	ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
	# shellcheck disable=SC2016 # the inner sh expands its own positional parameters
	exec unshare --mount --propagation private -- /bin/sh -c '
		set -e
		ns=$1 root=$2 sock=$3; shift 3
		mount -t tmpfs tmpfs /run
		mount --bind "$ns/usr-local-bin" /usr/local/bin
		mount --bind "$ns/opt" /opt
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$ns/etc-up,workdir=$ns/etc-work" /etc
		mount -t tmpfs tmpfs /usr/local/share
		mkdir -p /usr/local/share/dagger/content /usr/local/share/ca-certificates
		mount --bind "$ns/content" /usr/local/share/dagger/content
		mount --bind "$ns/cacerts" /usr/local/share/ca-certificates
		exec env "$@" "$root/bin/dagger-engine" --config "$root/engine.toml" --root "$root/state" --addr "unix://$sock"
	' sh "$ns" "$ROOT" "$SOCK" "${sdkenv[@]}"
}

start_engine() {
	if running; then
		say "engine already running (pid $(cat "$PIDFILE"))"
		return
	fi
	stamp_ok bin "$(bin_key)" || die "engine not provisioned: run '$SELF provision' first"
	prepare_namespace
	rm -f "$SOCK"
	if [ -f "$LOG" ]; then mv -f "$LOG" "$LOG.1"; fi
	local t0 i
	t0=$(now)
	setsid "$SELF" _run </dev/null >"$LOG" 2>&1 3>&- 9>&- &
	for i in $(seq 1 240); do
		if grep -q "running server on" "$LOG" 2>/dev/null && [ -S "$SOCK" ]; then break; fi
		if [ "$i" -gt 4 ] && ! running_pid; then die "engine exited during start; last lines of $LOG:$(printf '\n'; tail -20 "$LOG")"; fi
		sleep 0.5
	done
	running || die "engine did not come up within 120 s; see $LOG"
	say "engine running (pid $(cat "$PIDFILE"), socket $SOCK, started in $(($(now) - t0)) s)"
}

running_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

stop_engine() {
	local pid i
	if running_pid; then
		pid=$(cat "$PIDFILE")
		say "stopping engine (pid $pid)"
		# It may exit between the check and the signal: that is a stop, not an error.
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$pid" 2>/dev/null; then
			say "engine ignored SIGTERM for 30 s, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 1
		fi
	fi
	cleanup_network
	rm -f "$SOCK" "$PIDFILE"
}

# The engine's CNI setup leaves a bridge and iptables chains behind in the host's network
# namespace; remove both so a stopped engine leaves the host as it found it.
cleanup_network() {
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link del "$BRIDGE" || say "warning: could not delete bridge $BRIDGE: run 'ip link del $BRIDGE' as root"
	fi
	# The CNI plugins write their rules through the iptables binary: without it there are none.
	command -v iptables >/dev/null || return 0
	# rules that jump to CNI chains or name the bridge or its subnet
	local ours="^-A .*(-j CNI-|$BRIDGE|10\\.87\\.0\\.0/16)"
	local table rules rule chain chains
	for table in filter nat; do
		# A table this kernel cannot list holds none of the engine's rules.
		rules=$(iptables -t "$table" -S 2>/dev/null) || continue
		# A host that never ran the engine has none of them: finding nothing is the normal case,
		# so the rules are matched here rather than by a grep whose "no match" ends the script.
		chains=()
		while IFS= read -r rule; do
			if [[ $rule == "-N CNI-"* ]]; then chains+=("${rule#-N }"); fi
			if [[ $rule =~ $ours ]]; then
				# iptables -S quotes comments the way a shell does: eval undoes that quoting.
				eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null ||
					say "warning: could not delete the $table rule '$rule'"
			fi
		done <<<"$rules"
		# CNI chains jump to each other: empty them all before deleting any.
		for chain in "${chains[@]}"; do
			iptables -t "$table" -F "$chain" 2>/dev/null || say "warning: could not flush $table chain $chain"
		done
		for chain in "${chains[@]}"; do
			iptables -t "$table" -X "$chain" 2>/dev/null || say "warning: could not delete $table chain $chain"
		done
	done
}

print_env() {
	cat >&3 <<EOF
export _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://$SOCK
export _EXPERIMENTAL_DAGGER_CLI_BIN=$ROOT/bin/dagger
export PATH="$ROOT/cli:\$PATH"
export DO_NOT_TRACK=1 DAGGER_NO_NAG=1
EOF
}

# engine_answers asks an engine for its version through the CLI: the one real proof that
# a session can be opened.
engine_answers() {
	local cli=${_EXPERIMENTAL_DAGGER_CLI_BIN:-}
	[ -n "$cli" ] || cli=$(command -v dagger 2>/dev/null) || cli="$ROOT/bin/dagger"
	[ -x "$cli" ] || return 1
	timeout 60 "$cli" --silent core version >/dev/null 2>&1
}

ensure() {
	if [ -n "${_EXPERIMENTAL_DAGGER_RUNNER_HOST:-}" ] && [ "$_EXPERIMENTAL_DAGGER_RUNNER_HOST" != "unix://$SOCK" ]; then
		if engine_answers; then
			say "using the engine at $_EXPERIMENTAL_DAGGER_RUNNER_HOST"
			return
		fi
		say "warning: _EXPERIMENTAL_DAGGER_RUNNER_HOST=$_EXPERIMENTAL_DAGGER_RUNNER_HOST does not answer; using the air-gapped engine"
	elif command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
		say "docker is available: the dagger CLI runs its stock engine there"
		return
	fi
	provisioned || provision
	running || start_engine
	print_env
}

with_lock() {
	mkdir -p "$ROOT"
	exec 9>"$ROOT/lock"
	flock 9
	"$@"
}

status() {
	if running; then
		printf 'running pid=%s socket=%s\n' "$(cat "$PIDFILE")" "$SOCK" >&3
		return 0
	fi
	if provisioned; then printf 'stopped (provisioned in %s)\n' "$ROOT" >&3; else printf 'stopped (not provisioned)\n' >&3; fi
	return 3
}

# Sourced: the functions are defined, nothing runs.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then return 0; fi

case "${1:-}" in
provision) with_lock provision ;;
start) with_lock start_engine ;;
stop) with_lock stop_engine ;;
status) status || exit $? ;; # exit 3 (stopped) is an answer, not a failure for the ERR trap
env) print_env ;;
ensure) with_lock ensure ;;
_run) run_engine ;;
*)
	if [ -n "${1:-}" ]; then say "error: unknown command '$1'"; fi
	sed -n '2,17p' "$SELF" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
