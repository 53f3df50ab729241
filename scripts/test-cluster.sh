#!/usr/bin/env bash
# `make test-cluster`: the shared stats cache on a real Redis. Installs
# Debian's redis-server when it is missing; the tests start their own
# servers (temporary directories, Unix sockets, no persistence) and fail,
# never skip, when one cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null; then
    echo "installing Debian's redis-server" >&2
    apt-get update -qq >/dev/null
    apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version
# The cache suite on Redis, and the cluster suite (two `voxdash serve` nodes).
cargo test --test cache --test cluster -- --ignored
# The server-level suites again, each server with a Redis of its own.
VOXDASH_TEST_REDIS=1 cargo test --test writes --test live --test web --test pages \
    --test operations --test drilldown --test cleanup
