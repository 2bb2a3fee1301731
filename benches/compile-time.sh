#!/usr/bin/env bash
# Compile time of a plugin crate written with bk-plugin-kit's macros against the same structs
# with serde + schemars derives (benches/compile_time_gen.py writes both: 10 versions, 100
# fields). Dependencies are built once first; each figure is the crate alone (dev profile):
#
#   clean        `cargo clean -p CRATE`, then `cargo build -p CRATE`
#   incremental  one string literal changed in one version's body, then `cargo build -p CRATE`
#
# Median of RUNS (5) runs each, the two crates alternating. Prints one line per figure and
# the ratios. Usage: benches/compile-time.sh [RUNS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unset CARGO_INCREMENTAL # the dev profile's default (on), as a plugin author builds
export CARGO_TARGET_DIR="$work/target" CARGO_TERM_COLOR=never

python3 "$repo/benches/compile_time_gen.py" "$work/src" "$repo/bk-plugin-kit"
cp "$repo/Cargo.lock" "$work/src/Cargo.lock"
cd "$work/src"
echo "building the dependencies once" >&2
cargo build -q -p with_kit -p with_serde

now() { date +%s.%N; }
timed() { local t0; t0=$(now); cargo build -q -p "$1"; python3 -c "print(f'{$(now) - $t0:.3f}')"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A samples
for run in $(seq 1 "$runs"); do
    for crate in with_kit with_serde; do
        cargo clean -q -p "$crate"
        samples[$crate,clean]+="$(timed "$crate") "
        sed -i "s/MARK[0-9]*/MARK$run/" "$crate/src/v5.rs"
        samples[$crate,incremental]+="$(timed "$crate") "
    done
    echo "run $run done" >&2
done

for kind in clean incremental; do
    kit=$(tr ' ' '\n' <<< "${samples[with_kit,$kind]}" | grep . | median)
    serde=$(tr ' ' '\n' <<< "${samples[with_serde,$kind]}" | grep . | median)
    ratio=$(python3 -c "print(f'{$kit / $serde:.2f}')")
    echo "$kind: with_kit ${kit}s [${samples[with_kit,$kind]% }] with_serde ${serde}s [${samples[with_serde,$kind]% }] ratio $ratio"
done
