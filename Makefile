# guestforge: the two front doors are `make` (build host-arch artifacts into dist/)
# and `make test` (the whole suite, as CI runs it). Both provision what they need.
SHELL := /bin/bash
export GOFLAGS := -mod=mod
export GONOSUMDB := github.com/dagger/dagger,dagger.io/dagger

.PHONY: all dist test unit lint engine engine-stop tools bench clean fuzz

all: dist

dist:
	hack/build.sh

test:
	hack/test.sh

unit:
	go test ./...

lint: tools
	gofmt -l . | (! grep .)
	go vet ./...
	/var/cache/guestforge/bin/staticcheck ./...

engine:
	hack/airgap/engine.sh ensure

engine-stop:
	hack/airgap/engine.sh stop

tools:
	hack/tools.sh

bench:
	hack/bench.sh

clean:
	rm -rf dist

fuzz:
	go test ./internal/manifest -run '^$$' -fuzz FuzzParse -fuzztime 60s

bench-initrd:
	hack/bench-initrd.sh
