#!/usr/bin/env bash
# Renders the `cargo generate` template templates/plugin the way cargo-generate would, without
# cargo-generate: copies it to a temp dir, substitutes {{project-name}}, {{crate_name}} and
# {{app_code}}, points `bk-plugin-kit = "0.1"` at this checkout, makes the crate its own
# workspace with this repository's Cargo.lock (versions stay pinned), then walks the generated
# README's workflow:
#
#   1. it builds, is formatted, and its plugin tests pass;
#   2. the schema lock test asks for the lock, `BK_PLUGIN_UPDATE_LOCK=1 cargo test` creates it
#      with version 1.0.0, and `cargo test` then passes;
#   3. editing the released 1.0.0 in place fails the lock test with the version, field, rule
#      and fix.
#
# Builds go to target/template, so later runs reuse them. Exits non-zero on any failure.
#
#   tests/template/render.sh              render to a temp dir, test, delete it
#   KEEP=1 tests/template/render.sh       keep the rendered crate (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
start=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'render.sh: %s\n' "$*" >&2; exit 1; }

project_name="hello-plugin"
crate_name="${project_name//-/_}"
app_code="bk_hello_plugin"

tmp="$(mktemp -d)"
if [ -n "${KEEP:-}" ]; then trap 'echo "kept $tmp/$project_name"' EXIT; else trap 'rm -rf "$tmp"' EXIT; fi
out="$tmp/$project_name"

step "render templates/plugin as $project_name (app code $app_code)"
cp -R templates/plugin "$out"
rm "$out/cargo-generate.toml" # cargo-generate does not copy its own configuration
find "$out" -type f -print0 | xargs -0 sed -i \
    -e "s/{{project-name}}/$project_name/g" \
    -e "s/{{crate_name}}/$crate_name/g" \
    -e "s/{{app_code}}/$app_code/g"
if grep -rn -e '{{' -e '{%' "$out"; then fail "placeholders left after rendering (above)"; fi

# The published dependency, pointed at this checkout; the crate is its own workspace.
grep -qx 'bk-plugin-kit = "0.1"' "$out/Cargo.toml" || fail 'Cargo.toml has no line bk-plugin-kit = "0.1"'
sed -i "s|^bk-plugin-kit = \"0.1\"\$|bk-plugin-kit = { path = \"$root/bk-plugin-kit\" }|" "$out/Cargo.toml"
printf '\n[workspace]\n' >> "$out/Cargo.toml"
cp Cargo.lock "$out/Cargo.lock"
export CARGO_TARGET_DIR="$root/target/template"
cd "$out"

step "format, build"
cargo fmt --check
cargo test --no-run -q

step "the plugin tests pass"
cargo test -q -- --skip schema_lock

step "the schema lock: asked for, created, then current"
log="$tmp/cargo.log"
if cargo test -q --test plugin schema_lock > "$log" 2>&1; then
    fail "schema_lock passed without plugin.lock.json"
fi
grep -q 'plugin.lock.json does not exist; run `BK_PLUGIN_UPDATE_LOCK=1 cargo test`' "$log" \
    || { cat "$log"; fail "schema_lock did not ask for the lock"; }
BK_PLUGIN_UPDATE_LOCK=1 cargo test -q
python3 - <<'PY'
import json
lock = json.load(open("plugin.lock.json"))
assert list(lock["versions"]) == ["1.0.0"], lock["versions"].keys()
assert lock["versions"]["1.0.0"]["inputs"]["required"] == ["name"], lock["versions"]["1.0.0"]["inputs"]
PY
cargo test -q

step "editing the released 1.0.0 in place fails the lock test"
sed -i 's/#\[field(title = "Delay", default = 5)\]/#[field(title = "Delay")]/' src/v1_0_0.rs
if cargo test -q --test plugin schema_lock > "$log" 2>&1; then
    fail "schema_lock passed after 1.0.0 was edited in place"
fi
expected='1.0.0: inputs.delay: input became required — breaks "adding a required input"; release it as 2.0.0 instead'
grep -qF "$expected" "$log" || { cat "$log"; fail "schema_lock did not report: $expected"; }

step "the generated Cargo.lock kept this repository's versions"
python3 - "$root/Cargo.lock" Cargo.lock <<'PY'
import re, sys
def packages(path):
    text = open(path).read()
    return set(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text))
repo, generated = packages(sys.argv[1]), packages(sys.argv[2])
drift = sorted(p for p in generated - repo if p[0] != "hello-plugin")
assert not drift, f"versions not in the repository's Cargo.lock: {drift}"
print(f"{len(generated)} packages, all pinned by the repository's Cargo.lock")
PY

printf '\ntemplate OK in %ss\n' "$(( $(date +%s) - start ))"
