#!/usr/bin/env bash
# The OpenAPI document against the server it describes: builds the example server
# (examples/sops-exec), starts it on a free 127.0.0.1 port with a fresh SQLite file, once in dev
# and once in prod, and runs schemathesis (pinned in requirements.txt, in a throwaway venv) from
# the document the server itself serves at /openapi.json: generated requests to every
# operation, every answer checked against the statuses, media types and body schemas the
# document gives, then call sequences along its links (invoke -> schedule). Stops each server
# by its pid. Exits non-zero on any violation.
#
#   tests/openapi/run.sh                    debug build (shares the test step's build)
#   MAX_EXAMPLES=200 PROD_MAX_EXAMPLES=50 SEED=7 tests/openapi/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

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

step "schemathesis (a venv with tests/openapi/requirements.txt, pinned)"
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/openapi/requirements.txt
"$tmp/venv/bin/schemathesis" --version

step "build the example server"
cargo build --locked -q -p sops-exec --example sops-exec
bin="${CARGO_TARGET_DIR:-$root/target}/debug/examples/sops-exec"

# start_server ENVIRONMENT: the example server on a free port with a fresh SQLite file; sets
# `pid` and `addr`. dev: no gateway JWT on the loopback listener, the dev routes. prod: the
# gateway's public key is tests/openapi/gateway_public_key.pem, whose private half was thrown
# away, so no JWT verifies and the gateway-only routes answer their 403 text.
start_server() {
    local environment="$1"
    local -a key=()
    if [ "$environment" = prod ]; then
        key=(BK_APIGW_PUBLIC_KEY="$(cat tests/openapi/gateway_public_key.pem)")
    fi
    # Port 0: the OS picks a free port; the server prints the address it bound.
    env BK_PLUGIN_LISTEN=127.0.0.1:0 BKPAAS_ENVIRONMENT="$environment" BKPAAS_APP_ID=sops-exec \
        BKPAAS_APP_SECRET=openapi-test-secret DATABASE_URL="sqlite://$tmp/$environment.db" \
        "${key[@]}" "$bin" > "$tmp/server.log" 2> "$tmp/server.err" &
    pid=$!
    addr=""
    for _ in $(seq 1 100); do
        addr=$(sed -n 's#^bk-plugin: serving .* on http://\([^/]*\)/bk_plugin/meta/$#\1#p' "$tmp/server.err")
        [ -n "$addr" ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    if [ -z "$addr" ] || ! "$tmp/venv/bin/python" - "http://$addr/bk_plugin/meta/" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=5).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
    then
        echo "the server did not start:" >&2
        cat "$tmp/server.err" >&2
        exit 1
    fi
    echo "pid $pid on http://$addr/"
}

# Every check (schemathesis's default; `--checks` would override the per-operation settings
# below) runs on every operation, except two where the protocol itself says otherwise
# (docs/protocol.md); each is turned off for the operations named, and only there:
#
# - negative_data_rejection (a request the document does not allow must get a 4xx): invoke
#   answers inputs or context that do not match the version's schemas with HTTP 200, state 5
#   and the validation error in `err`, because SOPS reads the state and shows `err`, and a 4xx
#   would be retried as a new execution; schedule (and the dev logs) answer 200 for any id,
#   `result: false` when there is no such invocation.
# - positive_data_acceptance (a request the document allows must not get a 4xx other than
#   401/403/404/409): a callback token of the documented form that this server did not sign,
#   i.e. a forged one, is refused with 400 `invalid token ...`; plugin_api_dispatch refuses a
#   `dumped_data` string that is not a JSON object, which no schema can say.
cat > "$tmp/schemathesis.toml" <<'TOML'
[[operations]]
include-operation-id-regex = "^(invoke_.*|schedule|logs)$"
checks.negative_data_rejection.enabled = false

[[operations]]
include-operation-id = ["callback", "plugin_api_dispatch"]
checks.positive_data_acceptance.enabled = false
TOML

# check ENVIRONMENT MAX_EXAMPLES: schemathesis against a server started in ENVIRONMENT.
check() {
    local environment="$1" examples="$2" status=0
    step "schemathesis run against a $environment server"
    start_server "$environment"
    # The document is read from the server: the bytes a caller gets. From $tmp, so that no
    # schemathesis.toml of the checkout's is picked up.
    (cd "$tmp" && timeout 300 "$tmp/venv/bin/schemathesis" --config-file "$tmp/schemathesis.toml" \
        run "http://$addr/openapi.json" --max-examples "$examples" --seed "${SEED:-20261202}" \
        --request-timeout 30 --generation-database none --no-color) || status=$?
    stop_server
    if [ "$status" != 0 ]; then
        printf '\n--- server stderr ---\n'; cat "$tmp/server.err"
        printf -- '--- server log (last 40 lines) ---\n'; tail -n 40 "$tmp/server.log"
        failed=1
    fi
}

failed=0
# dev reaches every route's own answers; prod has no dev route and refuses gateway-only calls
# (fewer examples: most of its answers are the same 403).
check dev "${MAX_EXAMPLES:-50}"
check prod "${PROD_MAX_EXAMPLES:-25}"
printf 'tests/openapi/run.sh took %ss\n' "$(( $(date +%s) - start ))"
exit "$failed"
