#!/usr/bin/env bash
# The README's main job (`make`): build the host arch's whole target set from toolchain.yaml
# into dist/<arch>/ with `release build --all`: kernels, the agent and systemd initrds, the ext4
# rootfs images with dm-verity, then dist/report.json and dist/report.html (logs in dist/logs/).
#
#   hack/build.sh            kernels: only the test variant, the smallest bootable one (a small
#                            machine: minutes on 2 cores; the images are the real ones)
#   hack/build.sh --full     kernels: every target variant of the arch (default, confidential,
#                            debug on x86_64), the kernels a release ships
#   GUESTFORGE_VARIANT=<name> hack/build.sh   that kernel-configs/variants/ name for every target
#   GUESTFORGE_ARCH=<arch> hack/build.sh      another arch's target set (cross-built), e.g. aarch64
#   GUESTFORGE_BUILD_FLAGS="--verbose"        extra `release build` flags (engine progress on stderr)
#
# dist/<arch>/ is replaced only once everything built and exported; a failure leaves it as it
# was and names the failing job and its log. Exit 1: a job failed; 2: bad flags or inputs.
# Provisions what it needs: Debian packages, and a Dagger engine when none is reachable
# (hack/airgap/engine.sh ensure prints nothing when Docker or an engine is already there).
set -euo pipefail
# No failure ends the script without a word: errtrace carries the ERR trap into functions,
# where set -e alone exits silently. Handled failures (if, ||, &&) do not fire it.
set -o errtrace
trap 'printf "%s: line %s: \`%s\` failed (exit %s); the lines above say why, or rerun with bash -x\n" "hack/build.sh" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger

kernels=(--test)
if [ -n "${GUESTFORGE_VARIANT:-}" ]; then
	kernels=(--kernel-variant "$GUESTFORGE_VARIANT")
fi
for arg in "$@"; do
	case "$arg" in
	--full) kernels=() ;;
	*)
		echo "hack/build.sh: unknown argument $arg (use --full, GUESTFORGE_VARIANT=<name> or GUESTFORGE_ARCH=<arch>)" >&2
		exit 2
		;;
	esac
done

hack/deps.sh
# Two steps, so a failing ensure stops the script (eval "$(...)" would swallow its status).
engine_env=$(hack/airgap/engine.sh ensure)
eval "$engine_env"
start=$(date +%s)
# shellcheck disable=SC2086 # GUESTFORGE_BUILD_FLAGS are words on purpose
go run ./cmd/release build --all "${kernels[@]}" --arch "${GUESTFORGE_ARCH:-host}" --out dist ${GUESTFORGE_BUILD_FLAGS:-}
echo "hack/build.sh: ${GUESTFORGE_ARCH:-host} target set built in $(($(date +%s) - start)) s; report: dist/report.html" >&2
