#!/usr/bin/env bash
# `make bench-cluster`: several nodes at `demo --scale 160`, written to
# docs/benchmarks-cluster.md: a dashboard miss with the cache in the file
# and in Redis, the import into SQLite and into PostgreSQL, the statistics
# computed from each, the cost of a cache hit through Redis, and cached page
# requests/s of one node and of two nodes behind the same nginx and the
# same load generator, on SQLite and on PostgreSQL. Installs Debian's
# redis-server, postgresql, wrk, nginx and time when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${BENCH_SCALE:-160}"
BIN=target/release/voxdash
WORK="$PWD/bench-cluster-data"
export VOXDASH_NOW="${VOXDASH_NOW:-2026-11-23T12:00:00+09:00}" VOXDASH_TZ="${VOXDASH_TZ:-Asia/Seoul}" VOXDASH_LOG=warn
need() { command -v "$1" >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }; }
need redis-server redis-server; need wrk wrk; need /usr/bin/time time
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# PostgreSQL refuses to run as root: its programs run as `postgres` then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
command -v nginx >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null; }
cargo build --release --example redis_read --example pg_compute >/dev/null
cargo build --release >/dev/null

PIDS=()
# Stops what it started, last first (nginx, the nodes, then Redis).
cleanup() { [ -n "${PGDIR:-}" ] && { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }; for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; wait "${PIDS[i]}" 2>/dev/null || sleep 0.3; done; }
trap cleanup EXIT
rm -rf "$WORK"; mkdir -p "$WORK"
# Two Redis servers: one for the nodes on SQLite, one for those on PostgreSQL.
for name in redis redis-pg; do
    redis-server --port 0 --unixsocket "$WORK/$name.sock" --unixsocketperm 700 --save "" --appendonly no --dir "$WORK" >/dev/null &
    PIDS+=($!)
    for _ in $(seq 100); do [ -S "$WORK/$name.sock" ] && break; sleep 0.05; done
done
REDIS="unix://$WORK/redis.sock"
REDIS_PG="unix://$WORK/redis-pg.sock"

$BIN demo --scale "$SCALE" --out "$WORK/csv" >/dev/null 2>&1
timed() { /usr/bin/time -f "%e s, max RSS %M KiB" "$@" 2>&1 >/dev/null | tail -1; }
import_sqlite=$(timed $BIN --data-dir "$WORK/data" import "$WORK/csv")
miss_file=$(timed $BIN --data-dir "$WORK/data" stats dashboard --refresh)
miss_redis=$(timed env VOXDASH_CACHE_URL="$REDIS" $BIN --data-dir "$WORK/data" stats dashboard --refresh)
refresh_out=$(VOXDASH_CACHE_URL="$REDIS" $BIN --data-dir "$WORK/data" refresh)
reads=$(target/release/examples/redis_read "$WORK/data" "$REDIS")

# PostgreSQL in a temporary directory (one its account can reach), on a
# Unix socket.
PGDIR=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; fi
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-k $PGDIR -c listen_addresses=''" start >/dev/null
PGURL="host=$PGDIR user=postgres dbname=postgres"
migrate=$(timed $BIN --data-dir "$WORK/data" migrate --to "$PGURL")
pg_compute=$(target/release/examples/pg_compute "$WORK/data" "$PGURL" "dashboard?category=child")
as_pg "$PGBIN/psql" -q -h "$PGDIR" -U postgres -c "CREATE DATABASE imported" >/dev/null
mkdir -p "$WORK/pg-import"
import_pg=$(timed env VOXDASH_DATABASE_URL="host=$PGDIR user=postgres dbname=imported" $BIN --data-dir "$WORK/pg-import" import "$WORK/csv")
as_pg "$PGBIN/psql" -q -h "$PGDIR" -U postgres -c "DROP DATABASE imported" >/dev/null
sync

# Two nodes on the data directory, sharing the Redis; two more on
# PostgreSQL (the copy `migrate` made), each with a data directory of its
# own, sharing the other Redis; nginx in front with one upstream of node 1
# alone and one of both nodes, for each pair.
P1=$((20000 + RANDOM % 20000)); P2=$((P1 + 1)); ONE=$((P1 + 2)); TWO=$((P1 + 3))
P3=$((P1 + 4)); P4=$((P1 + 5)); PG_ONE=$((P1 + 6)); PG_TWO=$((P1 + 7))
for port in $P1 $P2; do
    VOXDASH_CACHE_URL="$REDIS" $BIN --data-dir "$WORK/data" serve --public --bind "127.0.0.1:$port" --threads 4 &
    PIDS+=($!)
done
for port in $P3 $P4; do
    mkdir -p "$WORK/node-$port"
    VOXDASH_CACHE_URL="$REDIS_PG" VOXDASH_DATABASE_URL="$PGURL" $BIN --data-dir "$WORK/node-$port" serve --public --bind "127.0.0.1:$port" --threads 4 &
    PIDS+=($!)
done
for port in $P1 $P2 $P3 $P4; do
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
done
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
    upstream one { server 127.0.0.1:$P1; keepalive 16; }
    upstream two { server 127.0.0.1:$P1; server 127.0.0.1:$P2; keepalive 16; }
    server { listen 127.0.0.1:$ONE; location / { proxy_pass http://one; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:$TWO; location / { proxy_pass http://two; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    upstream pg_one { server 127.0.0.1:$P3; keepalive 16; }
    upstream pg_two { server 127.0.0.1:$P3; server 127.0.0.1:$P4; keepalive 16; }
    server { listen 127.0.0.1:$PG_ONE; location / { proxy_pass http://pg_one; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:$PG_TWO; location / { proxy_pass http://pg_two; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
PIDS+=("$(sleep 0.5; cat "$WORK/nginx/nginx.pid")")
PAGE=/audio/dashboard/
curl -sf "http://127.0.0.1:$ONE$PAGE" >/dev/null
curl -sf "http://127.0.0.1:$TWO$PAGE" >/dev/null
curl -sf "http://127.0.0.1:$PG_ONE$PAGE" >/dev/null
curl -sf "http://127.0.0.1:$PG_TWO$PAGE" >/dev/null
wrk_line() { wrk -t2 -c16 -d6s --latency "$1" | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps " req/s, p99 " p99}'; }
wrk -t2 -c16 -d3s "http://127.0.0.1:$ONE$PAGE" >/dev/null
wrk -t2 -c16 -d3s "http://127.0.0.1:$TWO$PAGE" >/dev/null
rounds_one=(); rounds_two=()
for _ in 1 2 3; do
    rounds_one+=("$(wrk_line "http://127.0.0.1:$ONE$PAGE")")
    rounds_two+=("$(wrk_line "http://127.0.0.1:$TWO$PAGE")")
done
direct=$(wrk_line "http://127.0.0.1:$P1$PAGE")
wrk -t2 -c16 -d3s "http://127.0.0.1:$PG_ONE$PAGE" >/dev/null
rounds_pg_one=(); rounds_pg_two=()
for _ in 1 2 3; do
    rounds_pg_one+=("$(wrk_line "http://127.0.0.1:$PG_ONE$PAGE")")
    rounds_pg_two+=("$(wrk_line "http://127.0.0.1:$PG_TWO$PAGE")")
done
median_round() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
list() { printf '%s; ' "$@" | sed 's/; $//'; }
computations=$(for port in $P1 $P2; do curl -s "http://127.0.0.1:$port/metrics" | awk '/^voxdash_cache_computations_total\{kind="dashboard"\}/ {print $2}'; done | awk '{s += $1} END {print s + 0}')
rss=$(for pid in "${PIDS[@]:2:2}"; do ps -o rss= -p "$pid"; done | awk '{printf "%s%.0f MB", (NR>1?", ":""), $1/1024}')

{
  echo "# Benchmarks: several nodes"
  echo
  echo "Run by \`make bench-cluster\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(lscpu | sed -n 's/^Model name: *//p' | head -1); $(redis-server --version | cut -d' ' -f1-3) on a Unix socket without persistence."
  echo "Dataset: \`voxdash demo --scale $SCALE\`; two nodes serve it from SQLite, two from the copy \`migrate\` made into PostgreSQL."
  echo
  echo "| what | figure |"
  echo "|---|---|"
  echo "| \`stats dashboard --refresh\`, cache in the file (whole process) | $miss_file |"
  echo "| the same, cache in Redis (whole process) | $miss_redis |"
  echo "| \`voxdash import\` of the CSV files into SQLite (whole process) | $import_sqlite |"
  echo "| the same import into an empty PostgreSQL (\`database_url\`; COPY into a temporary table per file, then one upsert) | $import_pg |"
  echo "| \`voxdash migrate --to\` into an empty PostgreSQL (COPY, one transaction, counts checked; whole process) | $migrate |"
  echo
  echo "The shared statistics computed from SQLite and from PostgreSQL $(as_pg "$PGBIN/postgres" --version | awk '{print $3}') holding the same rows (\`examples/pg_compute\`, Unix socket, fsync on):"
  echo; echo '```'; echo "$pg_compute"; echo '```'; echo
  echo
  echo "Refresh of the three shared keys into Redis (\`voxdash refresh\` with \`VOXDASH_CACHE_URL\`):"
  echo; echo '```'; echo "$refresh_out"; echo '```'; echo
  echo "A cache hit through Redis (\`examples/redis_read\`):"
  echo; echo '```'; echo "$reads"; echo '```'; echo
  echo "| cached dashboard page, wrk 2 threads, 16 keep-alive connections, 6 s | figure |"
  echo "|---|---|"
  echo "| one node (4 workers) behind nginx, median of 3 rounds | $(median_round "${rounds_one[@]}") (rounds: $(list "${rounds_one[@]}")) |"
  echo "| two nodes (4 workers each) behind the same nginx, rounds alternating | $(median_round "${rounds_two[@]}") (rounds: $(list "${rounds_two[@]}")) |"
  echo "| node 1 directly, no proxy | $direct |"
  echo "| one node on PostgreSQL behind nginx, median of 3 rounds | $(median_round "${rounds_pg_one[@]}") (rounds: $(list "${rounds_pg_one[@]}")) |"
  echo "| two nodes on PostgreSQL, each its own data directory, behind the same nginx | $(median_round "${rounds_pg_two[@]}") (rounds: $(list "${rounds_pg_two[@]}")) |"
  echo "| dashboard computations by the two nodes together after all this (the CLI's refresh stored it before they started) | $computations |"
  echo "| RSS of the two nodes | $rss |"
} > docs/benchmarks-cluster.md
cat docs/benchmarks-cluster.md
rm -rf "$WORK"
