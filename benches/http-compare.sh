#!/usr/bin/env bash
# HTTP load comparison: this runtime vs the Python peer vs the bare-axum limit, in one run,
# with the same client (../shared/compare.sh → ../shared/peer/bench.sh, hey).
#
#   benches/http-compare.sh            # SHARED=../shared by default; RUNS=5 runs of compare.sh
#
# Serves the peer's own three plugin versions (tests/support/peer.rs) with `bk_plugin_kit::run()`,
# release build, stag environment with the gateway check exempted (as a dev box would be),
# JSON logs at the default level to a file, schedules in a temp SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-$(cd ../shared && pwd)}"
command -v hey >/dev/null || { echo "install the load client first: apt-get install -y hey" >&2; exit 2; }

cargo build --release --locked -q -p bk-plugin-bench-server
tmp="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BK_PLUGIN_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite://$tmp/s.db" \
BKPAAS_ENVIRONMENT=stag BK_APIGW_REQUIRE_EXEMPT=1 BKPAAS_APP_SECRET=bench \
    target/release/bk-plugin-bench-server > "$tmp/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/bk_plugin/meta/')" 2>/dev/null && break
    sleep 0.1
done
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), commit $(git rev-parse --short HEAD)"
# RUNS side-by-side runs of compare.sh (default 5); the last line is the median of their ratios.
runs="${RUNS:-5}"
for i in $(seq 1 "$runs"); do
    echo "--- run $i of $runs"
    bash "$SHARED/compare.sh" "http://127.0.0.1:$port/bk_plugin" | tee -a "$tmp/compare.txt"
done
python3 - "$tmp/compare.txt" <<'PY'
import re, statistics, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("compare ")]
keys = re.findall(r"(\w+)=", lines[0])
med = {k: statistics.median(float(re.search(k + r"=([\d.]+|nan)", l).group(1)) for l in lines) for k in keys}
print("median of %d: " % len(lines) + " ".join("%s=%.2f" % (k, v) for k, v in med.items()))
PY

# detail (not part of compare.sh): ours and the peer, same client, same settings.
detail() {  # url n
    hey -n "$2" -c 50 "$1" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = float(re.search(r"50%+ in ([\d.]+) secs", t).group(1)) * 1000
p99 = float(re.search(r"99%+ in ([\d.]+) secs", t).group(1)) * 1000
bad = sum(int(m) for code, m in re.findall(r"\[(\d+)\]\s+(\d+) responses", t) if not code.startswith("2"))
print("rps=%.2f p50_ms=%.1f p99_ms=%.1f errors=%d" % (rps, p50, p99, bad))'
}
PORT=8001 PEER_DB_LOG=0 MAX_REQUESTS=0 PEER_WORKER=0 bash "$SHARED/peer/serve.sh" >/dev/null
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$tmp"; bash "$SHARED/peer/stop.sh" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:8001/bk_plugin/meta/ >/dev/null && break; sleep 0.2; done
sleep 3
echo "ours  detail $(detail "http://127.0.0.1:$port/bk_plugin/detail/1.1.0" 50000)"
echo "peer  detail $(detail "http://127.0.0.1:8001/bk_plugin/detail/1.1.0" 2000)"
