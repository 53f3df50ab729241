#!/usr/bin/env bash
# `make e2e`: real browsers against live servers. Installs Debian's chromium,
# chromium-driver and CJK fonts when missing, then runs the WebDriver tests
# of tests/browser.rs: every page in en/ko/zh at 1200 px and 390 px (no
# sideways scrolling, no clipped chart text, no English on ko/zh pages),
# Refresh, Clear all, drill-down and learner links, CSV against JSON, live
# badges. Screenshots of every page at both widths go to e2e-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
    || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    echo "e2e: installing chromium, chromium-driver and fonts-noto-cjk from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
rm -rf e2e-out
cargo test --test browser -- --ignored --test-threads 2
echo "e2e: screenshots in e2e-out/ ($(ls e2e-out | wc -l) files)"
