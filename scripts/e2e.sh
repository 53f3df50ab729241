#!/usr/bin/env bash
# `make e2e`: loads pages in headless Chromium (installed from Debian if
# missing) against a server on loopback, checks the badge and the charts in
# the rendered DOM and saves screenshots to e2e-out/; then runs the WebDriver
# tests (tests/browser.rs) through Debian's chromium-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "e2e: installing chromium, chromium-driver and fonts-noto-cjk from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
cargo build --release >/dev/null
OUT=e2e-out
rm -rf "$OUT"; mkdir -p "$OUT"
DATA=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
export VOXDASH_NOW=2026-11-23T12:00:00+09:00 VOXDASH_TZ=Asia/Seoul VOXDASH_LOG=warn
BIN=target/release/voxdash
$BIN --data-dir "$DATA" import tests/fixtures/sample/data 2>/dev/null
$BIN --data-dir "$DATA" serve --public --bind "127.0.0.1:$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
browse() { # url, name, extra flags...
    local url=$1 name=$2; shift 2
    local profile; profile=$(mktemp -d)
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" "$url" 2>/dev/null
    rm -rf "$profile"
}
passed=0; failed=0
check() { # file, pattern, what
    if grep -q -- "$2" "$1"; then echo "ok   $3"; passed=$((passed + 1)); else echo "FAIL $3"; failed=$((failed + 1)); fi
}
browse "http://127.0.0.1:$PORT/audio/dashboard/" dashboard --dump-dom > "$OUT/dashboard.html"
check "$OUT/dashboard.html" 'data-status="cached"' "dashboard badge is cached"
check "$OUT/dashboard.html" 'Cached data (updated: 2026-11-23 12:00:00 KST)' "dashboard badge text"
check "$OUT/dashboard.html" '<svg class="chart columns"' "dashboard monthly chart"
browse "http://127.0.0.1:$PORT/learning/users/1/?lang=ko" user --dump-dom > "$OUT/user-ko.html"
check "$OUT/user-ko.html" '최신 데이터' "user page badge in Korean"
check "$OUT/user-ko.html" 'data-code="late_night"' "user page recommendations"
browse "http://127.0.0.1:$PORT/api/userprofile/" map --dump-dom > "$OUT/locations.html"
check "$OUT/locations.html" '<circle class="dot"' "locations dot map"
browse "http://127.0.0.1:$PORT/audio/dashboard/?lang=ko" shot --screenshot="$OUT/dashboard-ko.png" --window-size=1200,2400 >/dev/null
browse "http://127.0.0.1:$PORT/learning/users/1/" shot --screenshot="$OUT/user.png" --window-size=1200,2600 >/dev/null
browse "http://127.0.0.1:$PORT/api/userprofile/" shot --screenshot="$OUT/locations.png" --window-size=1200,1800 >/dev/null
for png in dashboard-ko user locations; do
    if [ -s "$OUT/$png.png" ]; then echo "ok   screenshot $OUT/$png.png"; passed=$((passed + 1)); else echo "FAIL screenshot $png"; failed=$((failed + 1)); fi
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
# Live pages in a real browser, driven through WebDriver.
cargo test --test browser -- --ignored
