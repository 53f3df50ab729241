#!/usr/bin/env bash
# `make test-cluster`: the shared stats cache on a real Redis and the data
# in a real PostgreSQL. Installs Debian's redis-server and postgresql when
# they are missing; the tests start their own servers (temporary
# directories, Unix sockets, no persistence) and fail, never skip, when one
# cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian's ${missing[*]}" >&2
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
redis-server --version
ls -d /usr/lib/postgresql/*/bin
# PostgreSQL: the sample imported and copied into it, statistics exact,
# file backups refused.
cargo test --test postgres --test aggregates -- --ignored
# The cache suite on Redis, and the cluster suite (two `voxdash serve`
# nodes on PostgreSQL and Redis).
cargo test --test cache --test cluster --test edge -- --ignored
# The server-level suites again, each server with a Redis of its own...
VOXDASH_TEST_REDIS=1 cargo test --test writes --test live --test web --test pages \
    --test operations --test drilldown --test cleanup
# ...and with a PostgreSQL database of its own (one server per test process).
VOXDASH_TEST_POSTGRES=1 cargo test --test writes --test live --test web --test pages \
    --test drilldown --test cleanup --test hardening --test import --test research
