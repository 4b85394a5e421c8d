# guestforge: the two front doors are `make` (build host-arch artifacts into dist/)
# and `make test` (the whole suite, as CI runs it). Both provision what they need.
SHELL := /bin/bash
export GOFLAGS := -mod=mod
export GONOSUMDB := github.com/dagger/dagger,dagger.io/dagger

.PHONY: all dist test test-release unit lint funclen engine engine-stop tools bench bench-quick repro clean fuzz

all: dist

dist:
	hack/build.sh

test:
	hack/test.sh

# The release kernel (x86_64 default) through the boot tier's Kata launch-conformance
# boots; CI boots the test kernel with the same launches (a default kernel build is too
# long for CI on two cores).
test-release:
	hack/airgap/engine.sh ensure >/tmp/guestforge-engine.env && . /tmp/guestforge-engine.env && \
	GUESTFORGE_BOOT_KERNEL_VARIANT=default go test -tags boot -count=1 -timeout 180m -run 'TestKata|TestBoot' ./internal/build/

unit:
	go test ./...

lint: tools
	gofmt -l . | (! grep .)
	go vet ./...
	/var/cache/guestforge/bin/staticcheck ./...

# Front-door functions over 40 lines fail (docs/architecture.md: front doors parse, call, print).
funclen:
	go run ./hack/funclen -max 40 -fail ./cmd/... ./ci

engine:
	hack/airgap/engine.sh ensure

engine-stop:
	hack/airgap/engine.sh stop

tools:
	hack/tools.sh

bench:
	hack/bench.sh

# The bench without its kernel part (which builds the test kernel twice with caches off).
bench-quick:
	BENCH_SKIP=kernel hack/bench.sh

# The reproducibility gate over the host arch's test matrix (two cache-disabled builds),
# verdict in dist/repro/report.json; when dist/ holds a build (make), its report.json and
# report.html are rewritten with the verdict in the Reproducible column. Exits as the gate did.
repro:
	hack/airgap/engine.sh ensure >/tmp/guestforge-engine.env && . /tmp/guestforge-engine.env && \
	{ go run ./cmd/release repro --kernel-variant test --out dist/repro; rc=$$?; \
	  if [ -f dist/repro/report.json ] && [ -f dist/build-record.json ]; then \
	    go run ./cmd/release report --dist dist --repro dist/repro/report.json || rc=$$?; \
	  elif [ -f dist/repro/report.json ]; then \
	    echo "make repro: dist/ holds no build (make); join the verdict later: go run ./cmd/release report --dist dist --repro dist/repro/report.json" >&2; \
	  fi; exit $$rc; }

clean:
	rm -rf dist

fuzz:
	go test ./internal/manifest -run '^$$' -fuzz FuzzParse -fuzztime 60s

