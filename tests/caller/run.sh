#!/usr/bin/env bash
# SOPS-style caller test (sops_caller.py): builds the example server (examples/sops-exec),
# starts it on a free 127.0.0.1 port with a fresh SQLite file, calls it the way BlueKing SOPS
# does (meta, detail, invoke, schedule, third-party callback, finish notification) and stops
# it by its pid. Needs only python3 (standard library). Exits non-zero on failure.
#
#   tests/caller/run.sh                 debug build (shares the test step's build)
#   PROFILE=release tests/caller/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

profile="${PROFILE:-debug}"
step "build the example server ($profile)"
if [ "$profile" = release ]; then
    cargo build --locked -q --release -p sops-exec --example sops-exec
else
    cargo build --locked -q -p sops-exec --example sops-exec
fi
bin="${CARGO_TARGET_DIR:-$root/target}/$profile/examples/sops-exec"

tmp="$(mktemp -d)"
pid=""
stop_server() {
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2> /dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2> /dev/null; then
            echo "server (pid $pid) still running 10 s after SIGTERM; killing it" >&2
            kill -KILL "$pid"
        fi
    fi
    wait "$pid" 2> /dev/null || true
    pid=""
}
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT

step "start the example server"
# Port 0: the OS picks a free port; the server prints the address it bound.
BK_PLUGIN_LISTEN=127.0.0.1:0 BKPAAS_ENVIRONMENT=dev BKPAAS_APP_ID=sops-exec \
    BKPAAS_APP_SECRET=caller-test-secret DATABASE_URL="sqlite://$tmp/bk_plugin.db" \
    "$bin" > "$tmp/server.log" 2> "$tmp/server.err" &
pid=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(sed -n 's#^bk-plugin: serving .* on http://\([^/]*\)/bk_plugin/meta/$#\1#p' "$tmp/server.err")
    [ -n "$addr" ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "the server did not start:" >&2
    cat "$tmp/server.err" >&2
    exit 1
fi
echo "pid $pid on http://$addr/bk_plugin/"

step "SOPS caller"
status=0
secret=caller-test-secret
timeout 300 python3 tests/caller/sops_caller.py "http://$addr" --server-log "$tmp/server.log" \
    --server-err "$tmp/server.err" --secret "$secret" || status=$?
stop_server
if [ "$status" != 0 ]; then
    printf '\n--- server stderr ---\n'; cat "$tmp/server.err"
    printf -- '--- server log (last 40 lines) ---\n'; tail -n 40 "$tmp/server.log"
fi
printf 'tests/caller/run.sh took %ss\n' "$(( $(date +%s) - start ))"
exit "$status"
