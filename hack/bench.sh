#!/usr/bin/env bash
# The benchmarks that exist so far, each printing its ratio against the obvious alternative
# measured in the same run: initrd pack vs find|cpio|gzip -9, and the kernel pipeline vs a bare
# host `make -j` of the same config (needs an engine). Issue 8 extends this into one table + JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=mod GONOSUMDB=github.com/dagger/dagger,dagger.io/dagger
hack/deps.sh
hack/bench-initrd.sh
engine_env=$(hack/airgap/engine.sh ensure)
eval "$engine_env"
go test -tags engine -run '^$' -bench BenchmarkKernelPipelineVsHost -benchtime 1x -timeout 90m ./internal/build/
