#!/usr/bin/env bash
# Soak of a release plugin server under mixed load, RSS sampled every 10 s (benches/soak.py).
#   MINUTES=30 benches/soak.sh        # needs hey: apt-get install -y hey
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hey >/dev/null || { echo "install the load client first: apt-get install -y hey" >&2; exit 2; }
cargo build --release --locked -q -p bk-plugin-bench-server
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), commit $(git rev-parse --short HEAD)"
python3 benches/soak.py target/release/bk-plugin-bench-server
