#!/usr/bin/env bash
# Two builds of a plugin server side by side: alternating runs of 50,000 invokes of 1.0.0 (hey,
# 50 connections, after 5,000 to warm up), each on a fresh SQLite file; prints rps and p99 (s).
#   benches/ab.sh BINARY_A BINARY_B [ROUNDS]      # needs hey: apt-get install -y hey
# The allocator comparison of docs/benchmarks.md:
#   cargo build --release --locked -p bk-plugin-bench-server --features mimalloc
#   cp target/release/bk-plugin-bench-server /tmp/bench-mimalloc
#   cargo build --release --locked -p bk-plugin-bench-server
#   benches/ab.sh target/release/bk-plugin-bench-server /tmp/bench-mimalloc 3
set -euo pipefail
command -v hey >/dev/null || { echo "install the load client first: apt-get install -y hey" >&2; exit 2; }
body='{"inputs":{"hello":"bench"},"context":{}}'
run() {
    local dir port pid url
    dir="$(mktemp -d)"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    BK_PLUGIN_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite://$dir/s.db" BKPAAS_ENVIRONMENT=stag \
        BK_APIGW_REQUIRE_EXEMPT=1 BKPAAS_APP_SECRET=bench "$1" > "$dir/server.log" 2>&1 &
    pid=$!
    url="http://127.0.0.1:$port/bk_plugin"
    for _ in $(seq 100); do curl -sf "$url/meta/" > /dev/null && break; sleep 0.05; done
    hey -n 5000 -c 50 -m POST -T application/json -d "$body" "$url/invoke/1.0.0" > /dev/null
    hey -n 50000 -c 50 -m POST -T application/json -d "$body" "$url/invoke/1.0.0" \
        | awk '/Requests\/sec/ {rps = $2} /99%/ {p99 = $3} END {print "rps=" rps, "p99_s=" p99}'
    kill "$pid"; wait "$pid" 2> /dev/null || true
    rm -rf "$dir"
}
for i in $(seq 1 "${3:-3}"); do
    echo "round $i A $(run "$1")"
    echo "round $i B $(run "$2")"
done
