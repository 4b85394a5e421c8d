#!/usr/bin/env bash
# The README's main job (`make`): build the host-arch guest kernel into dist/<arch>/.
#
#   hack/build.sh            test variant: the smallest bootable kernel (minutes on 2 cores)
#   hack/build.sh --full     the default variant, the guest kernel a release ships
#   GUESTFORGE_VARIANT=<name> hack/build.sh   any kernel-configs/variants/ name
#
# Provisions what it needs: Debian packages, and a Dagger engine when none is reachable
# (hack/airgap/engine.sh ensure prints nothing when Docker or an engine is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger

variant=${GUESTFORGE_VARIANT:-test}
for arg in "$@"; do
	case "$arg" in
	--full) variant=default ;;
	*)
		echo "hack/build.sh: unknown argument $arg (use --full or GUESTFORGE_VARIANT=<name>)" >&2
		exit 2
		;;
	esac
done

hack/deps.sh
# Two steps, so a failing ensure stops the script (eval "$(...)" would swallow its status).
engine_env=$(hack/airgap/engine.sh ensure)
eval "$engine_env"
start=$(date +%s)
go run ./cmd/release build --arch host --variant "$variant" --out dist
echo "hack/build.sh: $variant kernel built in $(($(date +%s) - start)) s" >&2
