#!/usr/bin/env bash
# `make bench`: the kernel pipeline against a bare `make -j` of the same config on the host.
# Reports pipeline-s, host-s and their ratio (goal: ratio <= 1.05).
#   GUESTFORGE_BENCH_ARCH=aarch64 hack/bench.sh   another arch (cross-compiled on both sides)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger
hack/deps.sh
engine_env=$(hack/airgap/engine.sh ensure)
eval "$engine_env"
go test -tags engine -run '^$' -bench KernelPipelineVsHost -benchtime 1x -timeout 2h ./internal/build/
