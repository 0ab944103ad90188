# The two commands: `make demo` and `make test`. Both install missing Debian packages first.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps test-deps build test demo bench clean

all: build

deps:
	@./scripts/install-deps.sh

test-deps:
	@./scripts/install-deps.sh --test

# The release binary at build/opsrun (other tools and scripts rely on that path).
build: deps
	@cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release -DOPSRUN_TESTS=OFF >/dev/null
	@cmake --build build --target opsrun -j $(JOBS)

# Debug + ASan + UBSan, every test; starts (and stops) a throwaway PostgreSQL for the store tests.
test: test-deps
	@cmake -S . -B build-test $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DOPSRUN_SANITIZE=ON >/dev/null
	@cmake --build build-test -j $(JOBS)
	@./scripts/run-tests.sh build-test

demo: build
	@./scripts/demo.sh

bench: build
	@./scripts/install-deps.sh --bench
	@cmake -S . -B build-bench $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release -DOPSRUN_TESTS=OFF -DOPSRUN_BENCH=ON >/dev/null
	@cmake --build build-bench -j $(JOBS)

clean:
	rm -rf build build-test build-bench
