#!/usr/bin/env bash
# Memory and cold start of a release plugin server (benches/memory.py says what it measures).
#   benches/memory.sh [RUNS]          # needs hey: apt-get install -y hey
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hey >/dev/null || { echo "install the load client first: apt-get install -y hey" >&2; exit 2; }
cargo build --release --locked -q -p bk-plugin-bench-server
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), commit $(git rev-parse --short HEAD)"
python3 benches/memory.py target/release/bk-plugin-bench-server "${1:-5}"
