#!/usr/bin/env bash
# `make bench`: speed figures on a large generated dataset, written to
# docs/benchmarks.md. Needs /usr/bin/time (Debian package `time`). Scale 160 ≈ 1M recordings and 1M study sessions.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${BENCH_SCALE:-160}"
BIN=target/release/voxdash
WORK=bench-data
export VOXDASH_NOW="${VOXDASH_NOW:-2026-11-23T12:00:00+09:00}" VOXDASH_TZ="${VOXDASH_TZ:-Asia/Seoul}" VOXDASH_LOG=warn
cargo build --release --example cache_hit --example write_load --example slow_clients --example drilldown --example live_load >/dev/null
rm -rf "$WORK"; mkdir -p "$WORK"
secs() { local s; s=$(date +%s%N); "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err"; exit 1; }; awk -v ms=$(( ($(date +%s%N) - s) / 1000000 )) 'BEGIN { printf "%.1f", ms / 1000 }'; }
gen=$(secs $BIN demo --scale "$SCALE" --out "$WORK/csv")
rows=$(for f in "$WORK"/csv/*.csv; do echo "$(basename "$f"): $(($(wc -l <"$f") - 1))"; done)
timed() { local out=$1; shift; /usr/bin/time -o "$out" -f "%e s, max RSS %M KiB" "$@" >/dev/null 2>>"$WORK/last.err"; cat "$out"; }
imp_line=$(timed "$WORK/import.time" $BIN --data-dir "$WORK/data" import "$WORK/csv")
refresh_out=$($BIN --data-dir "$WORK/data" refresh)
dash=$(timed "$WORK/dash.time" $BIN --data-dir "$WORK/data" stats dashboard --refresh)
loc=$(timed "$WORK/loc.time" $BIN --data-dir "$WORK/data" stats locations --refresh)
# learning from the aggregates the writes keep (the computation alone), and
# `check`, which also computes it from every session row to compare.
# The median of five computations (one is at the mercy of the machine).
compute_ms() {
    for _ in 1 2 3 4 5; do
        $BIN --data-dir "$WORK/data" stats "$@" --refresh | sed -n 's/.*"compute_ms": *\([0-9.]*\).*/\1/p'
    done | sort -n | sed -n '3s/$/ ms (median of 5)/p'
}
learn=$(compute_ms learning)
# The statistics kept by the writes, the computation alone (the second
# run: the first after the import builds the aggregates for the zone).
compute_ms dashboard >/dev/null
dash_ms=$(compute_ms dashboard)
group_ms=$(compute_ms dashboard --category child)
loc_ms=$(compute_ms locations)
# Ranges of days (the presets are whole months; the last one has 47 edge
# days read from their recordings).
range_year=$(compute_ms dashboard --from 2025-12-01 --to 2026-11-30)
range_month=$(compute_ms dashboard --from 2026-10-01 --to 2026-10-31)
range_edges=$(compute_ms dashboard --from 2026-10-05 --to 2026-11-20)
range_inside=$(compute_ms dashboard --from 2026-11-05 --to 2026-11-20)
range_two=$(compute_ms dashboard --from 2026-03-15 --to 2026-04-10)
range_mixed=$(compute_ms dashboard --from 2025-12-05 --to 2026-11-20)
range_group=$(compute_ms dashboard --category child --from 2026-10-01 --to 2026-10-31)
check=$(timed "$WORK/check.time" $BIN --data-dir "$WORK/data" check)
hit=$(target/release/examples/cache_hit "$WORK/data")
drill=$(target/release/examples/drilldown "$WORK/data")
GROUP_PAGE=$(echo "$drill" | tail -1)
drill=$(echo "$drill" | sed '$d')

# Web: a cached dashboard page, alone and under 16 keep-alive clients.
# The import above leaves gigabytes of dirty pages; the kernel writing them
# back in the middle of a round took most of the machine for seconds (a
# round at a fifth of the others, with normal latencies). Written first.
sync
command -v wrk >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null; }
PORT=$((20000 + RANDOM % 20000))
VOXDASH_LOG=warn $BIN --data-dir "$WORK/data" serve --public --bind "127.0.0.1:$PORT" --threads 4 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
URL="http://127.0.0.1:$PORT/audio/dashboard/"
curl -s "$URL" >/dev/null
single=$(for _ in $(seq 200); do curl -s -o /dev/null -w "%{time_starttransfer}\n" "$URL"; done | sort -n | awk '{a[NR]=$1} END {printf "%.2f ms", a[int(NR/2)]*1000}')
load=$(wrk -t2 -c16 -d10s "$URL" | awk '/Requests\/sec/ {print $2 " pages/s"} /Latency/ {print "latency avg " $2 ", max " $4}' | paste -sd ', ')
# The same bytes from nginx, in the same run: voxdash's cached page against
# the fastest static server there is, 16 keep-alive connections each.
wrk_line() { wrk -t2 -c16 -d6s --latency "$@" | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps " req/s, p99 " p99}'; }
command -v nginx >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null; }
NGINX_DIR=$(mktemp -d); mkdir -p "$NGINX_DIR/root/audio/dashboard" "$NGINX_DIR/logs"
curl -s "$URL" > "$NGINX_DIR/root/audio/dashboard/index.html"
NGINX_PORT=$((PORT + 1))
cat > "$NGINX_DIR/nginx.conf" <<NGINX
worker_processes 2;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $NGINX_DIR; proxy_temp_path $NGINX_DIR; fastcgi_temp_path $NGINX_DIR;
    uwsgi_temp_path $NGINX_DIR; scgi_temp_path $NGINX_DIR;
    server { listen 127.0.0.1:$NGINX_PORT; root $NGINX_DIR/root; }
}
NGINX
nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR"
sleep 0.5
# This machine's figures swing from one run to the next: three rounds,
# alternating the two servers after a warm-up of each; the median round of
# each is reported, all rounds are listed.
wrk -t2 -c16 -d3s "$URL" >/dev/null; wrk -t2 -c16 -d3s "http://127.0.0.1:$NGINX_PORT/audio/dashboard/" >/dev/null
rounds_v=(); rounds_n=()
for _ in 1 2 3; do
    rounds_v+=("$(wrk_line "$URL")")
    rounds_n+=("$(wrk_line "http://127.0.0.1:$NGINX_PORT/audio/dashboard/")")
done
median_round() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
vs_voxdash="$(median_round "${rounds_v[@]}") (rounds: $(printf '%s; ' "${rounds_v[@]}" | sed 's/; $//'))"
vs_nginx="$(median_round "${rounds_n[@]}") (rounds: $(printf '%s; ' "${rounds_n[@]}" | sed 's/; $//'))"
kill "$(cat "$NGINX_DIR/nginx.pid")"; rm -rf "$NGINX_DIR"
TAG=$(curl -sI "$URL" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
not_modified=$(wrk_line -H "If-None-Match: $TAG" "$URL")
# 300 open event streams.
for _ in $(seq 300); do curl -sN "http://127.0.0.1:$PORT/api/v1/events" >/dev/null 2>&1 & done
sleep 2
streams=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^voxdash_event_streams / {print $2}')
rss_streams=$(ps -o rss= -p $SERVER | awk '{printf "%.0f MB", $1/1024}')
healthz_streams=$(for _ in $(seq 50); do curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:$PORT/healthz"; done | sort -n | awk '{a[NR]=$1} END {printf "%.2f ms", a[int(NR*0.99)]*1000}')
pkill -f "curl -sN http://127.0.0.1:$PORT/api/v1/events" || true
rss=$(ps -o rss= -p $SERVER | awk '{printf "%.0f MB", $1/1024}')
GROUP_URL="http://127.0.0.1:$PORT$GROUP_PAGE"
curl -s "$GROUP_URL" >/dev/null
group_single=$(for _ in $(seq 200); do curl -s -o /dev/null -w "%{time_starttransfer}\n" "$GROUP_URL"; done | sort -n | awk '{a[NR]=$1} END {printf "%.2f ms", a[int(NR/2)]*1000}')
group_load=$(wrk -t2 -c16 -d5s "$GROUP_URL" | awk '/Requests\/sec/ {print $2 " pages/s"}')
slow=$(target/release/examples/slow_clients "127.0.0.1:$PORT")
# The recording list: the first page of each filter (median of 5, curl's
# whole request), then every recording as a CSV manifest.
list_first() {
    for _ in 1 2 3 4 5; do
        curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:$PORT/api/v1/recordings?$1"
    done | sort -n | awk 'NR == 3 {printf "%.1f ms", $1 * 1000}'
}
list_rows=""
for q in "" "category=child" "category=child&gender=U&snr_min=30" "snr_min=20&snr_max=30&from=2026-01-01&to=2026-03-31" \
    "speaker=1" "from=2026-10-01&to=2026-10-31" "sort=-snr_db" "sort=-duration_s" \
    "sample_rate=48000" "sample_rate=8000"; do
    list_rows+="| list, first page: \`${q:-no filter}\` | $(list_first "$q") | ≤ 20 ms |"$'\n'
done
# RSS counts the database pages SQLite maps (the kernel's cache, dropped
# at will); RssAnon is the memory the server holds itself.
rss_kib() { awk '/^(VmRSS|RssAnon):/ {printf "%s ", $2}' "/proc/$SERVER/status"; }
before_manifest=$(rss_kib)
m_start=$(date +%s%N)
manifest_lines=$(curl -s "http://127.0.0.1:$PORT/api/v1/recordings?format=csv" | wc -l)
m_ms=$(( ($(date +%s%N) - m_start) / 1000000 ))
after_manifest=$(rss_kib)
manifest=$(awk -v n=$((manifest_lines - 1)) -v ms=$m_ms -v a="$before_manifest" -v b="$after_manifest" \
    'BEGIN { split(a, x, " "); split(b, y, " ");
             printf "%d rows in %.2f s: %.0f rows/s; server RSS %.1f → %.1f MB, of it anonymous %.1f → %.1f MB",
                 n, ms / 1000, n * 1000 / ms, x[1] / 1024, y[1] / 1024, x[2] / 1024, y[2] / 1024 }')
kill $SERVER; wait $SERVER 2>/dev/null || true

# Writes under load: 4 writers, 16 readers, 10 s; rows added = accepted writes.
echo "load-test-password" | $BIN --data-dir "$WORK/data" user add loadtest --staff --password-stdin 2>/dev/null
TOKEN=$($BIN --data-dir "$WORK/data" token create loadtest 2>/dev/null)
VOXDASH_LOG=warn $BIN --data-dir "$WORK/data" serve --public --bind "127.0.0.1:$PORT" --threads 8 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
rows_before=$(sqlite3 "$WORK/data/voxdash.db" "SELECT COUNT(*) FROM study_sessions")
writes=$(target/release/examples/write_load "127.0.0.1:$PORT" "$TOKEN" 1)
kill $SERVER; wait $SERVER 2>/dev/null || true
rows_after=$(sqlite3 "$WORK/data/voxdash.db" "SELECT COUNT(*) FROM study_sessions")

# Always current: two recordings a second for 40 s while a viewer polls the
# dashboard and the largest category.
VOXDASH_LOG=warn $BIN --data-dir "$WORK/data" serve --public --bind "127.0.0.1:$PORT" --threads 8 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
speakers=$(sqlite3 "$WORK/data/voxdash.db" "SELECT COUNT(*) FROM speakers")
live=$(target/release/examples/live_load "127.0.0.1:$PORT" "$TOKEN" "$SERVER" child "$speakers" 40)
kill $SERVER; wait $SERVER 2>/dev/null || true

# Cleanup with archiving (about half the sessions are older than 180 days),
# with its backup, while 4 writers post sessions through the server.
VOXDASH_LOG=warn $BIN --data-dir "$WORK/data" serve --public --bind "127.0.0.1:$PORT" --threads 8 &
SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
clean_sessions=$(sqlite3 "$WORK/data/voxdash.db" "SELECT COUNT(*) FROM study_sessions" 2>/dev/null || echo "?")
target/release/examples/write_load "127.0.0.1:$PORT" "$TOKEN" 1 90 0 > "$WORK/clean-writes.txt" &
WRITERS=$!
sleep 1
clean=$(timed "$WORK/clean.time" $BIN --data-dir "$WORK/data" cleanup)
wait $WRITERS
clean_writes=$(cat "$WORK/clean-writes.txt" | sed 's/, reads 0.*//')
kill $SERVER; wait $SERVER 2>/dev/null || true
archived=$(sqlite3 "$WORK/data/voxdash.db" "SELECT COUNT(*) FROM study_sessions_archive" 2>/dev/null || echo "?")
{
  echo "# Benchmarks"
  echo
  echo "Run by \`make bench\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(lscpu | sed -n 's/^Model name: *//p' | head -1)."
  echo "Dataset: \`voxdash demo --scale $SCALE\` (generated in ${gen} s):"
  echo
  echo '```'; echo "$rows"; echo '```'
  echo
  echo "| what | figure | target |"
  echo "|---|---|---|"
  echo "| import (s, max RSS KiB) | $imp_line | < 20 s |"
  echo "| stats dashboard --refresh (whole process) | $dash | ≤ 1 s |"
  echo "| stats locations --refresh (whole process) | $loc | ≤ 0.3 s |"
  echo "| dashboard, computed from the aggregates (\`compute_ms\`) | $dash_ms | ≤ 10 ms |"
  echo "| the largest category's drill-down (\`dashboard?category=child\`, \`compute_ms\`) | $group_ms | ≤ 10 ms |"
  echo "| locations, computed from the aggregates (\`compute_ms\`) | $loc_ms | ≤ 10 ms |"
  echo "| learning, computed from the aggregates (\`compute_ms\`) | $learn | ≤ 20 ms |"
  echo "| check (whole process; every statistic kept by the writes from the rows and from the aggregates, integrity) | $check | |"
  echo "| dashboard of the last 12 months (\`--from 2025-12-01 --to 2026-11-30\`, \`compute_ms\`) | $range_year | ≤ 20 ms |"
  echo "| dashboard of one month (\`--from 2026-10-01 --to 2026-10-31\`) | $range_month | ≤ 20 ms |"
  echo "| dashboard of 47 days across two months (\`--from 2026-10-05 --to 2026-11-20\`) | $range_edges | ≤ 20 ms |"
  echo "| dashboard of 16 days inside one month (\`--from 2026-11-05 --to 2026-11-20\`) | $range_inside | ≤ 20 ms |"
  echo "| dashboard of the ends of two months (\`--from 2026-03-15 --to 2026-04-10\`) | $range_two | ≤ 20 ms |"
  echo "| dashboard of whole months and edge days (\`--from 2025-12-05 --to 2026-11-20\`) | $range_mixed | ≤ 20 ms |"
  echo "| the largest category over one month | $range_group | |"
  echo
  echo "Refresh of the three shared keys (target ≤ 2 s):"
  echo; echo '```'; echo "$refresh_out"; echo '```'; echo
  echo "Cache hit and per-user statistics (targets: hit ≤ 50 µs median, per-user ≤ 5 ms):"
  echo; echo '```'; echo "$hit"; echo '```'
  echo
  echo "Drill-down (\`examples/drilldown\`; targets: one speaker ≤ 5 ms, one category ≤ 0.5 x the whole dashboard):"
  echo; echo '```'; echo "$drill"; echo '```'
  echo
  echo "| web (4 worker threads, cached dashboard page) | figure | target |"
  echo "|---|---|---|"
  echo "| one request, median time to first byte over 200 (curl, includes client) | $single | ≤ 1 ms server time |"
  echo "| wrk, 2 threads, 16 keep-alive connections, 10 s | $load | ≥ 5,000 pages/s |"
  echo "| server RSS after the load | $rss | ≤ 100 MB |"
  echo "| cached dashboard page, wrk -c16 6 s, voxdash (median of 3 rounds) | $vs_voxdash | ≥ half of nginx's req/s, p99 no worse |"
  echo "| the same bytes from nginx (2 workers), rounds alternating with voxdash's | $vs_nginx | |"
  echo "| the page with a current \`If-None-Match\` (304, no body) | $not_modified | |"
  echo "| $streams open event streams: server RSS, /healthz p99 | $rss_streams, $healthz_streams | /healthz within 100 ms |"
  echo "| the page of the largest category ($GROUP_PAGE, cached, with its first 50 speakers), median time to first byte | $group_single | |"
  echo "| the same page, wrk, 16 connections, 5 s | $group_load | |"
  printf "%s" "$list_rows"
  echo "| the manifest of every recording (\`format=csv\`, curl to \`wc\`) | $manifest | ≥ 200,000 rows/s, RSS + < 20 MB |"
  echo
  echo "Slow and idle clients (\`examples/slow_clients\`, 200 requests each; target: answers within 1 s):"
  echo; echo '```'; echo "$slow"; echo '```' 
  echo
  echo "Writes under load (4 writer and 16 reader threads, 10 s, a new connection per request):"
  echo; echo '```'; echo "$writes"; echo "rows added: $((rows_after - rows_before))"; echo '```'; echo
  echo "Always current (\`examples/live_load\`: two recordings a second for 40 s through the API, a viewer polling the dashboard and \`dashboard?category=child\` every 250 ms each; targets: ≥ 95 % of polls current, server < 10 % of a core, write p50 < 10 ms):"
  echo; echo '```'; echo "$live"; echo '```'; echo
  echo "| cleanup | figure | target |"
  echo "|---|---|---|"
  echo "| \`cleanup\` (backup included) of $clean_sessions sessions ($archived archived), while 4 writers post sessions for 90 s | $clean | < 60 s, flat memory, no write error |"
  echo "| the writers during that cleanup | $clean_writes | errors 0 |"
} > "$WORK/benchmarks.md"
# What was measured by hand below the marker stays.
if grep -q '^<!-- by hand -->' docs/benchmarks.md 2>/dev/null; then
    { echo; sed -n '/^<!-- by hand -->/,$p' docs/benchmarks.md; } >> "$WORK/benchmarks.md"
fi
mv "$WORK/benchmarks.md" docs/benchmarks.md
cat docs/benchmarks.md
