#!/usr/bin/env bash
# Browser test of the dev debug page (bk-plugin-http/assets/debug.html): builds the example
# server (examples/sops-exec), starts it on a free 127.0.0.1 port with a fresh SQLite file and
# drives the page in headless Chromium (Debian's package, through playwright-core; no browser
# download). Installs what it needs itself. Exits non-zero on failure.
#
#   tests/browser/run.sh                     run the test
#   SCREENSHOT=docs/debug-page.png tests/browser/run.sh
#                                            also refresh the screenshot in the docs
#                                            (default: tests/browser/out/debug-page.png)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    step "install chromium (Debian package)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi
if ! command -v npm > /dev/null; then
    step "install node and npm (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm > /dev/null
fi
"$chromium" --version 2>/dev/null || true
node --version

step "npm ci (playwright-core, pinned in package-lock.json)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

step "build the example server"
cargo build --locked -q -p sops-exec --example sops-exec
bin="${CARGO_TARGET_DIR:-$root/target}/debug/examples/sops-exec"

step "debug page in headless chromium"
shot="${SCREENSHOT:-}"
if [ -n "$shot" ] && [ "${shot#/}" = "$shot" ]; then shot="$root/$shot"; fi
tap="$(mktemp)"
status=0
(cd tests/browser && SOPS_EXEC_BIN="$bin" CHROMIUM="$chromium" SCREENSHOT="$shot" \
    node --test --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap" \
        debug_page.mjs) || status=$?
pass=$(sed -n 's/^# pass //p' "$tap")
fail=$(sed -n 's/^# fail //p' "$tap")
rm -f "$tap"
printf '\nbrowser: %s passed, %s failed\n' "${pass:-0}" "${fail:-0}"
printf 'tests/browser/run.sh took %ss\n' "$(( $(date +%s) - start ))"
if [ "$status" = 0 ] && [ "${pass:-0}" = 0 ]; then status=1; fi
exit "$status"
