# voxdash — see README.md. `make run` and `make test` are all a newcomer needs.
CARGO ?= cargo
BIN := target/release/voxdash
DATA ?= ./data
BIND ?= 127.0.0.1:8010

.PHONY: run build test test-cluster lint check bench bench-cluster e2e clean

## Build, load the demo data if the database is empty, serve on $(BIND).
run: build
	$(BIN) --data-dir $(DATA) init --demo
	@echo "voxdash: http://$(BIND)/audio/dashboard/"
	$(BIN) --data-dir $(DATA) serve --bind $(BIND)

build:
	$(CARGO) build --release

## Every test (unit, integration, golden).
test:
	$(CARGO) test --all-targets

## The suites on a real Redis and a real PostgreSQL, and two nodes on both (installs Debian's redis-server and postgresql if missing).
test-cluster:
	bash scripts/test-cluster.sh

## Format, lints and docs, all without warnings.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## Format, lints, tests and docs, all without warnings.
check: lint test

## Headless Chromium against a live server (installs Debian's chromium if missing).
e2e:
	bash scripts/e2e.sh

## Speed figures, written to docs/benchmarks.md.
bench: build
	bash scripts/bench.sh

## Speed figures of several nodes on Redis, SQLite and PostgreSQL, written to docs/benchmarks-cluster.md.
bench-cluster: build
	bash scripts/bench-cluster.sh

clean:
	$(CARGO) clean
