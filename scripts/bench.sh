#!/usr/bin/env bash
# `make bench`: speed figures on a large generated dataset, written to
# docs/benchmarks.md. Needs /usr/bin/time (Debian package `time`). Scale 160 ≈ 1M recordings and 1M study sessions.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${BENCH_SCALE:-160}"
BIN=target/release/voxdash
WORK=bench-data
export VOXDASH_NOW="${VOXDASH_NOW:-2026-11-23T12:00:00+09:00}" VOXDASH_TZ="${VOXDASH_TZ:-Asia/Seoul}" VOXDASH_LOG=warn
cargo build --release --example cache_hit >/dev/null
rm -rf "$WORK"; mkdir -p "$WORK"
secs() { local s; s=$(date +%s%N); "$@" >/dev/null 2>"$WORK/last.err" || { cat "$WORK/last.err"; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 ))e-3; }
gen=$(secs $BIN demo --scale "$SCALE" --out "$WORK/csv")
rows=$(for f in "$WORK"/csv/*.csv; do echo "$(basename "$f"): $(($(wc -l <"$f") - 1))"; done)
timed() { local out=$1; shift; /usr/bin/time -o "$out" -f "%e s, max RSS %M KiB" "$@" >/dev/null 2>>"$WORK/last.err"; cat "$out"; }
imp_line=$(timed "$WORK/import.time" $BIN --data-dir "$WORK/data" import "$WORK/csv")
refresh_out=$($BIN --data-dir "$WORK/data" refresh)
dash=$(timed "$WORK/dash.time" $BIN --data-dir "$WORK/data" stats dashboard --refresh)
loc=$(timed "$WORK/loc.time" $BIN --data-dir "$WORK/data" stats locations --refresh)
hit=$(target/release/examples/cache_hit "$WORK/data")
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
  echo
  echo "Refresh of the three shared keys (target ≤ 2 s):"
  echo; echo '```'; echo "$refresh_out"; echo '```'; echo
  echo "Cache hit and per-user statistics (targets: hit ≤ 50 µs median, per-user ≤ 5 ms):"
  echo; echo '```'; echo "$hit"; echo '```'
} > docs/benchmarks.md
cat docs/benchmarks.md
